#!/usr/bin/env bash
# Packs every packable src/ project of Learner.sln into a local feed folder (default ./feed) with a pre-release version
# suffix (default local.<UTC time>), so that a re-pack gets a new version and the NuGet cache never serves an older
# build under the same number. Writes <feed>/packages.txt, one line per package: id, version, tool command (or -).
# Usage: scripts/pack.sh [feed-folder]     (LEARNER_VERSION_SUFFIX=… to choose the suffix; LEARNER_PACKAGES="Learner.Nn
# Learner" to pack only those package ids)
# Then, in your app: a nuget.config with <add key="learner-local" value="/path/to/feed" /> (docs/getting-started.md),
# and `dotnet add package Learner --version <the printed version>` (or --prerelease).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
feed="$(realpath -m "${1:-feed}")"
suffix="${LEARNER_VERSION_SUFFIX:-local.$(date -u +%Y%m%d%H%M%S)}"
version="$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props)-$suffix"
mkdir -p "$feed"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
prop() { sed -n "s|.*\"$2\": *\"\\([^\"]*\\)\".*|\\1|p" <<<"$1"; }
: >"$feed/packages.txt"
for proj in $(dotnet sln Learner.sln list | tr '\\' '/' | grep '^src/.*\.csproj$'); do
  props="$(dotnet msbuild "$proj" -getProperty:IsPackable -getProperty:PackageId -getProperty:PackAsTool -getProperty:ToolCommandName)"
  [ "$(prop "$props" IsPackable)" = true ] || continue
  id="$(prop "$props" PackageId)"
  [ -z "${LEARNER_PACKAGES:-}" ] || [[ " $LEARNER_PACKAGES " == *" $id "* ]] || continue
  tool=-
  [ "$(prop "$props" PackAsTool)" = true ] && tool="$(prop "$props" ToolCommandName)"
  echo "pack: $id $version → $feed"
  dotnet pack "$proj" -c Release -o "$feed" -p:VersionSuffix="$suffix" --nologo -v quiet >"$log" 2>&1 || { cat "$log"; echo "pack: FAILED: dotnet pack $proj" >&2; exit 1; }
  echo "$id $version $tool" >>"$feed/packages.txt"
done
echo "pack: $(wc -l <"$feed/packages.txt") packages, version $version, in $feed"

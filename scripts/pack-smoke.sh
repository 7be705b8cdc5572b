#!/usr/bin/env bash
# Packs every packable project under src/ into a temporary local feed, checks what each package holds (README, license,
# XML docs or tool layout, symbols package, repository commit, SourceLink map in the PDB), then proves the packages work
# outside the solution: `dotnet new console` in a temporary folder, `dotnet add package Learner` from the local feed,
# a tiny pretraining run; every .NET tool package is installed from the feed and answers --help.
# Run by .ci/run after the tests; a new src/ project of Learner.sln is packed and checked without editing this script.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
work="$(mktemp -d)"
# LEARNER_FEED: a feed scripts/pack.sh already filled from this tree (.ci/run packs once for this and first-hour.sh);
# its owner removes it and its versions from the package cache. Otherwise pack here, into a temporary feed.
given_feed="${LEARNER_FEED:-}"
feed="${given_feed:-$work/feed}"
suffix="smoke.$(date +%s)"
version="$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props)-$suffix"
[ -z "$given_feed" ] || version="$(awk 'NR == 1 { print $2 }' "$feed/packages.txt")"
ids=()
cleanup() {
  rm -rf "$work"
  [ -z "$given_feed" ] || return 0
  # Drop the throw-away versions from the package cache so they never shadow a real build.
  local cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}" id
  for id in "${ids[@]}"; do rm -rf "$cache/${id,,}/$version"; done
}
trap cleanup EXIT
fail() { echo "pack-smoke: FAILED: $*" >&2; exit 1; }

# Zip listing and extraction with unzip, or Python's zipfile where unzip is absent.
zlist() { if command -v unzip >/dev/null; then unzip -Z1 "$1"; else python3 -c 'import sys,zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$1"; fi; }
zcat1() { if command -v unzip >/dev/null; then unzip -p "$1" "$2"; else python3 -c 'import sys,zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' "$1" "$2"; fi; }
prop() { sed -n "s|.*\"$2\": *\"\\([^\"]*\\)\".*|\\1|p" <<<"$1"; }

# 1. Pack every packable src/ project (scripts/pack.sh, the script the getting-started guide gives users).
tools=()
if [ -n "$given_feed" ]; then
  [ -s "$feed/packages.txt" ] || fail "LEARNER_FEED=$feed holds no packages.txt (fill it with scripts/pack.sh)"
  echo "pack-smoke: checking the packages already in $feed (version $version)"
else
  LEARNER_VERSION_SUFFIX="$suffix" scripts/pack.sh "$feed" || fail "scripts/pack.sh"
fi
while read -r id _ tool; do
  ids+=("$id")
  [ "$tool" != - ] && tools+=("$id:$tool")
done <"$feed/packages.txt"
[[ " ${ids[*]} " == *" Learner.Nn "* && " ${ids[*]} " == *" Learner "* && " ${ids[*]} " == *" Learner.TorchSharp "* ]] \
  || fail "Learner.Nn, Learner and Learner.TorchSharp must be packable (got: ${ids[*]})"

# 2. Check each package's contents and metadata.
commit="$(git rev-parse HEAD 2>/dev/null || true)"
for id in "${ids[@]}"; do
  pkg="$feed/$id.$version.nupkg" sym="$feed/$id.$version.snupkg"
  [ -f "$pkg" ] || fail "missing $pkg"
  [ -f "$sym" ] || fail "missing symbols package $sym"
  listing="$(zlist "$pkg")" nuspec="$(zcat1 "$pkg" "$id.nuspec")"
  grep -qx "README.md" <<<"$listing" || fail "$id has no README.md"
  grep -q "<readme>README.md</readme>" <<<"$nuspec" || fail "$id does not declare its README"
  # Its own README (src/<project>/README.md), not the repository's, which tells consumers to run samples/.
  zcat1 "$pkg" README.md >"$work/readme.md"
  [ "$(head -n 1 "$work/readme.md")" = "# $id" ] || fail "$id's README is not its own (its first line must be '# $id')"
  ! grep -q "samples/QuickStart" "$work/readme.md" || fail "$id's README sends consumers to samples/ of the repository"
  grep -q '<license type="expression">MIT</license>' <<<"$nuspec" || fail "$id has no license expression"
  grep -q "<version>$version</version>" <<<"$nuspec" || fail "$id is not version $version"
  what="README, MIT license"
  if grep -q "^lib/" <<<"$listing"; then
    grep -qx "lib/net10.0/$id.xml" <<<"$listing" || fail "$id has no XML docs (lib/net10.0/$id.xml)"
    what+=", XML docs"
  else
    grep -q "^tools/net10.0/any/" <<<"$listing" || fail "$id has neither lib/ nor a tool layout"
    what+=", tool layout"
  fi
  # List first, then search: `zlist | grep -m1` fails at random under pipefail when grep exits before the lister.
  symlisting="$(zlist "$sym")"
  pdb="$(grep -m1 '\.pdb$' <<<"$symlisting" || true)"
  [ -n "$pdb" ] || fail "$id's symbols package holds no PDB"
  what+=", snupkg ($pdb)"
  if [ -n "$commit" ]; then
    grep -q "<repository type=\"git\" url=\"[^\"]*\" commit=\"$commit\"" <<<"$nuspec" || fail "$id's nuspec has no repository entry with commit $commit"
    # SourceLink: the PDB maps the sources to raw URLs at this commit.
    zcat1 "$sym" "$pdb" >"$work/check.pdb"   # to a file: `zcat1 | grep -q` would race under pipefail
    grep -aq "raw.githubusercontent.com/[^\"]*/$commit/\*" "$work/check.pdb" || fail "$id's PDB has no SourceLink map to commit $commit"
    what+=", repository + SourceLink at ${commit:0:7}"
  fi
  if [ "$id" = Learner.TorchSharp ]; then
    # The backend depends on the managed TorchSharp package only: the application chooses its runtime package
    # (TorchSharp-cpu, TorchSharp-cuda-linux, ...), so nothing native (libtorch) comes from us.
    deps="$(grep -o '<dependency id="[^"]*"' <<<"$nuspec" | sed 's/.*id="//; s/"$//' | sort -u | tr '\n' ' ')"
    [ "$deps" = "Learner TorchSharp " ] || fail "$id must depend on Learner and TorchSharp only (nuspec: $deps)"
    what+=", depends on Learner + TorchSharp only"
  fi
  echo "pack-smoke: $id ok ($what)"
done

# 3. A fresh console app, outside the solution, restoring Learner from the local feed plus the repository's source.
echo "pack-smoke: dotnet new console in $work/app; dotnet add package Learner $version from the local feed"
dotnet new console -o "$work/app" -n SmokeApp --no-restore >/dev/null
cat >"$work/app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
$(sed -n 's:^\s*\(<add key=.*/>\)\s*$:    \1:p' "$repo/nuget.config")
  </packageSources>
</configuration>
XML
(cd "$work/app" && dotnet add package Learner --version "$version" >"$work/add.log" 2>&1) || { cat "$work/add.log"; fail "dotnet add package Learner"; }
cat >"$work/app/Program.cs" <<'CS'
using Learner.Data.Synthetic;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Training;

var data = SyntheticLusCohort.Generate(new SyntheticLusOptions { Patients = 12, Seed = 1 });
var factory = new PretrainerFactory(new ExperimentOptions
{
    Encoder = new EncoderOptions { Architecture = "tsm-resnet", EmbeddingDimension = 8, WidthMultiplier = 0.25 },
    Pretraining = new PretrainingOptions { Epochs = 1, StepsPerEpoch = 3 },
    BatchSource = new BatchSourceOptions { Kind = BatchSourceKind.InterPatientPairs, PairsPerBatch = 8 },
});
var (pretrainer, encoder) = factory.Create(data, "mse+0.5*weighted-contrastive(marginByGap=true)");
var result = pretrainer.Run();
Console.WriteLine($"smoke app: {encoder.Name}, {result.CompletedSteps} pretraining steps on inter-patient pairs, last loss {result.Losses[^1]:F4}");
return result.CompletedSteps == 3 && double.IsFinite(result.Losses[^1]) ? 0 : 1;
CS
echo "pack-smoke: dotnet run (a 3-step pretraining through the packaged library)"
(cd "$work/app" && dotnet run -c Release --nologo -v quiet) || fail "the smoke app"

# 3b. A fresh app on the TorchSharp backend: Learner.TorchSharp from the local feed plus the runtime package a user adds
# for the CPU (TorchSharp-cpu: libtorch for three platforms, hard-linked from the NuGet cache instead of copied where
# the file system allows). On a libstdc++ older than GCC 13 its libLibTorchSharp.so is patched as the tests' is.
torchsharp="$(sed -n 's:.*<PackageVersion Include="TorchSharp" Version="\([^"]*\)".*:\1:p' Directory.Packages.props)"
echo "pack-smoke: dotnet new console in $work/torchapp; dotnet add package Learner.TorchSharp $version, TorchSharp-cpu $torchsharp"
dotnet new console -o "$work/torchapp" -n SmokeTorchApp --no-restore >/dev/null
cp "$work/app/nuget.config" "$work/torchapp/nuget.config"
(cd "$work/torchapp" && dotnet add package Learner.TorchSharp --version "$version" >"$work/add.log" 2>&1 \
  && dotnet add package TorchSharp-cpu --version "$torchsharp" >>"$work/add.log" 2>&1) || { cat "$work/add.log"; fail "dotnet add package Learner.TorchSharp / TorchSharp-cpu"; }
cat >"$work/torchapp/Program.cs" <<'CS'
using Learner.Data.Synthetic;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Training;
using Learner.TorchSharp;

var data = SyntheticLusCohort.Generate(new SyntheticLusOptions { Patients = 12, Seed = 1 });
var backend = TorchSharpBackend.Create(TorchSharp.torch.CPU);
var factory = new PretrainerFactory(new ExperimentOptions
{
    Encoder = new EncoderOptions { Architecture = "tsm-resnet", EmbeddingDimension = 8, WidthMultiplier = 0.25 },
    Pretraining = new PretrainingOptions { Epochs = 1, StepsPerEpoch = 3 },
    BatchSource = new BatchSourceOptions { Kind = BatchSourceKind.InterPatientPairs, PairsPerBatch = 8 },
}, backend: backend);
var (pretrainer, encoder) = factory.Create(data, "mse+0.5*weighted-contrastive(marginByGap=true)");
var result = pretrainer.Run();
Console.WriteLine($"smoke TorchSharp app: {encoder.GetType().Name}, {result.CompletedSteps} pretraining steps on libtorch (CPU), last loss {result.Losses[^1]:F4}");
return result.CompletedSteps == 3 && double.IsFinite(result.Losses[^1]) ? 0 : 1;
CS
(cd "$work/torchapp" && dotnet build -c Release --nologo -v quiet -p:CreateHardLinksForCopyLocalIfPossible=true >"$work/build.log" 2>&1) || { cat "$work/build.log"; fail "dotnet build of the TorchSharp app"; }
"$repo/scripts/libtorch-loadable.sh" "$work/torchapp/bin/Release" >"$work/loadable.log" 2>&1 || { cat "$work/loadable.log"; fail "scripts/libtorch-loadable.sh on the TorchSharp app"; }
grep -v ': \(loads\|patched.*\)$' "$work/loadable.log" || true
echo "pack-smoke: dotnet run (a 3-step pretraining on libtorch through the packaged backend)"
(cd "$work/torchapp" && OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}" dotnet run -c Release --no-build --nologo) || fail "the TorchSharp smoke app"

# 4. Every tool package installs from the feed and runs.
for tool in "${tools[@]}"; do
  id="${tool%%:*}" command="${tool#*:}"
  echo "pack-smoke: dotnet tool install $id $version; $command --help"
  dotnet tool install "$id" --version "$version" --tool-path "$work/tools" --configfile "$work/app/nuget.config" >/dev/null || fail "dotnet tool install $id"
  "$work/tools/$command" --help >"$work/help.txt" || fail "$command --help"
  head -n 3 "$work/help.txt"
done
echo "pack-smoke: ok (${ids[*]})"

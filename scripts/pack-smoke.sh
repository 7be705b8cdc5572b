#!/usr/bin/env bash
# Packs every packable project (src/*) into a temporary local feed, checks what the packages hold, then proves they
# work outside the solution: a fresh console app restores Learner from that feed and runs a tiny pretraining, and the
# `learner` tool installs from it and answers --help. Run by .ci/run after the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
work="$(mktemp -d)"
suffix="smoke.$(date +%s)"
version="$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props)-$suffix"
cleanup() {
  rm -rf "$work"
  # Drop the throw-away versions from the package cache so they never shadow a real build.
  local cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
  rm -rf "$cache"/learner/"$version" "$cache"/learner.nn/"$version" "$cache"/learner.cli/"$version" 2>/dev/null || true
}
trap cleanup EXIT

# Zip listing and extraction with unzip, or Python's zipfile where unzip is absent.
zlist() { if command -v unzip >/dev/null; then unzip -Z1 "$1"; else python3 -c 'import sys,zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$1"; fi; }
zcat1() { if command -v unzip >/dev/null; then unzip -p "$1" "$2"; else python3 -c 'import sys,zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())' "$1" "$2"; fi; }

echo "pack-smoke: packing $version into $work/feed"
dotnet pack Learner.sln -c Release -o "$work/feed" -p:VersionSuffix="$suffix" --nologo -v quiet >"$work/pack.log" 2>&1 || { cat "$work/pack.log"; exit 1; }
for id in Learner.Nn Learner Learner.Cli; do
  pkg="$work/feed/$id.$version.nupkg"
  [ -f "$pkg" ] || { echo "pack-smoke: missing $pkg"; ls "$work/feed"; exit 1; }
  [ -f "$work/feed/$id.$version.snupkg" ] || { echo "pack-smoke: missing symbols package for $id"; exit 1; }
  listing="$(zlist "$pkg")"
  grep -qx "README.md" <<<"$listing" || { echo "pack-smoke: $id has no README.md"; exit 1; }
  if [ "$id" != Learner.Cli ]; then
    grep -qx "lib/net10.0/$id.xml" <<<"$listing" || { echo "pack-smoke: $id has no XML docs"; exit 1; }
  fi
  zcat1 "$pkg" "$id.nuspec" | grep -q "<license type=\"expression\">MIT</license>" || { echo "pack-smoke: $id has no license"; exit 1; }
  zcat1 "$pkg" "$id.nuspec" | grep -q "<repository " || { echo "pack-smoke: $id has no repository (SourceLink) entry"; exit 1; }
  echo "pack-smoke: $id ok (nupkg + snupkg, README, license, docs, repository)"
done

mkdir -p "$work/app"
cat >"$work/app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$work/feed" />
$(sed -n 's:^\s*\(<add key=.*/>\)\s*$:    \1:p' "$repo/nuget.config")
  </packageSources>
</configuration>
XML
cat >"$work/app/SmokeApp.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Learner" Version="$version" />
  </ItemGroup>
</Project>
XML
cat >"$work/app/Program.cs" <<'CS'
using Learner.Data.Synthetic;
using Learner.Encoders;
using Learner.Sampling;
using Learner.Training;
using Learner.Experiments;

var data = SyntheticLusCohort.Generate(new SyntheticLusOptions { Patients = 12, Seed = 1 });
var encoder = EncoderFactory.Create(new EncoderOptions { Architecture = "tsm-resnet", EmbeddingDimension = 8, WidthMultiplier = 0.25 });
var objective = LearnerExperiment.CreateObjective("weighted-contrastive", encoder.EmbeddingDimension, 300, 100, 1);
var result = new Pretrainer(encoder, data, new PatientBatchSampler(data, 4, 2), objective, new PretrainingOptions { Epochs = 1, StepsPerEpoch = 3 }).Run();
Console.WriteLine($"smoke: {result.CompletedSteps} steps, last loss {result.Losses[^1]:F4}");
return result.CompletedSteps == 3 && double.IsFinite(result.Losses[^1]) ? 0 : 1;
CS
echo "pack-smoke: a fresh console app referencing Learner $version from the local feed"
(cd "$work/app" && dotnet run -c Release --nologo -v quiet)

echo "pack-smoke: installing the learner tool from the local feed"
dotnet tool install Learner.Cli --version "$version" --tool-path "$work/tools" --configfile "$work/app/nuget.config" >/dev/null
"$work/tools/learner" --help | head -n 3
echo "pack-smoke: ok"

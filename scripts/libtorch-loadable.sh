#!/usr/bin/env bash
# Makes TorchSharp's native library loadable where the system libstdc++ predates GCC 13 (Debian 12: GLIBCXX_3.4.30).
#
# TorchSharp 0.107's libLibTorchSharp.so (built with GCC 13) needs exactly one symbol of version GLIBCXX_3.4.32:
# std::ios_base_library_init() (_ZSt21ios_base_library_initv), which GCC 13's <iostream> references so that the
# library's own stream initialisation is linked in. Without that version the dynamic loader refuses the library
# ("version `GLIBCXX_3.4.32' not found") and every TorchSharp call fails. For each libLibTorchSharp.so under the given
# build output folders, this script, only when the system libstdc++ lacks GLIBCXX_3.4.32:
#   1. compiles libLearnerGlibcxxShim.so (libtorch-loadable/ios_base_library_init.cpp: that function, a no-op, plus the
#      std::ios_base::Init object that GCC 12's <iostream> defines) and puts it beside the library (its RUNPATH has
#      $ORIGIN);
#   2. on a copy of the library: clears that symbol's version (patchelf --clear-symbol-version), marks the now unused
#      GLIBCXX_3.4.32 requirement weak (libtorch-loadable/weaken-verneed.cpp; patchelf 0.14 leaves it in place) and adds
#      the shim as needed (patchelf --add-needed); then replaces the library with the copy (the build's file may be a
#      hard link into the NuGet cache, which must stay untouched);
#   3. checks that the library loads with every symbol bound (libtorch-loadable/dlopen-check.cpp).
# It installs what it lacks (patchelf, g++) from the distribution's packages with apt-get, nothing else. Idempotent.
# With a libstdc++ from GCC 13 or newer (Debian 13, Ubuntu 24.04) and on other systems it does nothing.
# The build copies the original library again when it runs next (`dotnet test` builds first): run the tests with
# --no-build after this script, as .ci/run does.
#
# Usage: scripts/libtorch-loadable.sh DIR...      e.g. scripts/libtorch-loadable.sh tests/Learner.TorchSharp.Tests/bin/Release
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)/libtorch-loadable"
version=GLIBCXX_3.4.32 symbol=_ZSt21ios_base_library_initv shim=libLearnerGlibcxxShim.so
say() { echo "libtorch-loadable: $*"; }
[ $# -gt 0 ] || { echo "usage: $0 DIR..." >&2; exit 2; }
[ "$(uname -s)" = Linux ] || { say "not Linux, nothing to do"; exit 0; }

mapfile -t libs < <(find "$@" -name libLibTorchSharp.so -type f 2>/dev/null | sort)
[ ${#libs[@]} -gt 0 ] || { say "no libLibTorchSharp.so under $* (build first)" >&2; exit 1; }

# awk reads all of ldconfig's output (no early `exit`): under pipefail an early exit would SIGPIPE ldconfig and fail the
# assignment at random.
libstdcxx="$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ && !found { print $NF; found = 1 }' || true)"
[ -n "$libstdcxx" ] || libstdcxx=/usr/lib/x86_64-linux-gnu/libstdc++.so.6
[ -f "$libstdcxx" ] || { say "no libstdc++.so.6 found" >&2; exit 1; }
if grep -qa "$version" "$libstdcxx"; then
  say "$libstdcxx has $version: TorchSharp loads as shipped, nothing to do"
  exit 0
fi
say "$libstdcxx lacks $version (newest: $(grep -ao 'GLIBCXX_3\.4\.[0-9]*' "$libstdcxx" | sort -t. -k3 -n -u | tail -n 1)); patching ${#libs[@]} libLibTorchSharp.so"

# Tools, from the distribution's packages only.
missing=()
command -v patchelf >/dev/null || missing+=(patchelf)
command -v g++ >/dev/null || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || { say "needs ${missing[*]} (no apt-get here: install them)" >&2; exit 1; }
  sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/libtorch-loadable-apt.log 2>&1; then
    "${sudo[@]}" apt-get update -q >>/tmp/libtorch-loadable-apt.log 2>&1 || true
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/libtorch-loadable-apt.log 2>&1 \
      || { cat /tmp/libtorch-loadable-apt.log >&2; say "apt-get install ${missing[*]} failed" >&2; exit 1; }
  fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
g++ -shared -fPIC -O2 -Wall -Wl,-soname,"$shim" -o "$work/$shim" "$here/ios_base_library_init.cpp"
g++ -O2 -Wall -o "$work/weaken-verneed" "$here/weaken-verneed.cpp"
g++ -O2 -Wall -o "$work/dlopen-check" "$here/dlopen-check.cpp" -ldl

for lib in "${libs[@]}"; do
  dir="$(dirname "$lib")"
  install -m 755 "$work/$shim" "$dir/$shim"
  if patchelf --print-needed "$lib" | grep -x "$shim" >/dev/null; then   # not grep -q: it would SIGPIPE patchelf
    say "$lib: already patched"
  else
    tmp="$dir/.libLibTorchSharp.so.patching"
    cp "$lib" "$tmp"
    patchelf --clear-symbol-version "$symbol" "$tmp"
    "$work/weaken-verneed" "$tmp" "$version" >/dev/null
    patchelf --add-needed "$shim" "$tmp"
    mv -f "$tmp" "$lib"    # a new file: a hard link into the NuGet cache is replaced, not written through
    say "$lib: patched ($symbol from $shim)"
  fi
  "$work/dlopen-check" "$lib" | sed 's/^/libtorch-loadable: /'
done

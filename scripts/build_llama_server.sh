#!/usr/bin/env bash
# Builds llama.cpp's llama-server from the llama.cpp source vendored in the pinned
# llama-cpp-python sdist on PyPI, and caches the binary outside the clone so later
# runs on the same machine reuse it. Only the server target is built; the web UI is
# neither built nor downloaded, and nothing but the sdist comes from the network.
#
# Prints the binary's path on its last line. Environment:
#   LLAMA_CPP_PYTHON_VERSION  the sdist to build from (pinned below)
#   NOTESITE_CACHE_DIR        where binaries are kept (default ~/.cache/notesite)
#   LLAMA_BUILD_JOBS          parallel compile jobs (default 2)
set -euo pipefail

version="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
cache_root="${NOTESITE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/notesite}"
target_dir="$cache_root/llama-server-$version"
binary="$target_dir/llama-server"
jobs="${LLAMA_BUILD_JOBS:-2}"

if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

for tool in cmake c++ cc; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build_llama_server: $tool is missing" >&2; exit 2; }
done

python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  here="$(cd "$(dirname "$0")/.." && pwd)"
  if [[ -x "$here/.venv/bin/python" ]]; then python="$here/.venv/bin/python"; else python=python3; fi
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/llama-server-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

"$python" -m pip download --quiet --no-deps --no-binary llama-cpp-python \
  "llama-cpp-python==$version" -d "$work" >&2
tar -xzf "$work"/llama_cpp_python-"$version".tar.gz -C "$work"
src="$work/llama_cpp_python-$version/vendor/llama.cpp"

cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DGGML_NATIVE=OFF >&2
cmake --build "$work/build" --target llama-server -j "$jobs" >&2

mkdir -p "$target_dir"
install -m 0755 "$work/build/bin/llama-server" "$binary.partial"
mv "$binary.partial" "$binary"
echo "$binary"

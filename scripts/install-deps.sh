#!/usr/bin/env bash
# Installs the system packages framekit needs to build, test and run, and nothing else.
# Idempotent: checks each package with `dpkg -s` and installs only what is missing.
# Debian/Ubuntu only (apt-get); elsewhere prints what to install and exits 1.
set -euo pipefail

# build: FFmpeg development libraries (ffmpeg-next), clang (bindgen), pkg-config
# tests/bench: the ffmpeg CLI makes fixtures and is the speed reference
# GUI smoke test: Xvfb, xdotool, ImageMagick (import), Mesa's software OpenGL
# Spark test: python3 with venv (PySpark itself comes from pip), Java when missing
# Packaging checks: desktop-file-validate, man, dpkg-shlibdeps (cargo-deb comes from cargo)
# Fleet tests: PostgreSQL's server programs (the tests start a throw-away cluster on 127.0.0.1)
PACKAGES=(
  pkg-config clang libclang-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libavfilter-dev libavdevice-dev
  ffmpeg
  xvfb xauth xdotool imagemagick
  libgl1 libegl1 libgl1-mesa-dri libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6
  python3 python3-venv
  desktop-file-utils man-db dpkg-dev
  postgresql
)
# The Spark test runs PySpark (pip, into target/spark-venv), which needs Java.
if ! command -v java >/dev/null 2>&1; then
  PACKAGES+=(default-jre-headless)
fi

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
  echo "install-deps: this script knows Debian/Ubuntu (apt-get) only." >&2
  echo "Install the equivalents of these packages with your system's package manager:" >&2
  echo "  FFmpeg 5.x-7.x development libraries (libavcodec, libavformat, libavutil, libswscale," >&2
  echo "  libswresample, libavfilter, libavdevice), the ffmpeg command, clang + libclang, pkg-config," >&2
  echo "  and for the GUI smoke test: Xvfb, xdotool, ImageMagick, Mesa OpenGL." >&2
  echo "  macOS (Homebrew): brew install ffmpeg pkg-config llvm" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg -s "$pkg" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all system packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"

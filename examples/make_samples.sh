#!/usr/bin/env bash
# Regenerates the spoken samples under examples/ (Debian: apt-get install espeak-ng sox).
# espeak-ng speaks at 22,050 Hz; sox makes it 16 kHz mono 16-bit, what Whisper models expect.
set -euo pipefail
cd "$(dirname "$0")"
say() {  # say OUT.wav "sentence"
  local tmp
  tmp=$(mktemp --suffix=.wav)
  espeak-ng -v en-us -s 130 -w "$tmp" "$2"
  sox "$tmp" -r 16000 -c 1 -b 16 "$1"
  rm -f "$tmp"
}
say hello.wav "Welcome to the gateway. Every result is kept on disk."
say short.wav "Please transcribe this short sentence."

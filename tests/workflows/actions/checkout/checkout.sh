#!/usr/bin/env bash
# The checkout stand-in's work (see action.yml); inputs arrive as IN_* variables.
set -euo pipefail
server=${SERVER%/}
url="$server/$IN_REPOSITORY"
dest="$GITHUB_WORKSPACE${IN_PATH:+/$IN_PATH}"
key="http.$server/.extraheader"
basic=$(printf 'x-access-token:%s' "$IN_TOKEN" | base64 | tr -d '\n')

mkdir -p "$dest"
find "$dest" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
cd "$dest"
git init -q
git remote add origin "$url"
# The real action writes the header into .git/config for its own fetches, then removes it
# unless persist-credentials is true.
git config --local "$key" "AUTHORIZATION: basic $basic"

depth=() tags=(--no-tags)
if [ "$IN_DEPTH" = 0 ]; then
  tags=(--tags)
else
  depth=(--depth="$IN_DEPTH")
  [ "$IN_TAGS" = true ] && tags=(--tags)
fi
fetch() { git fetch -q --prune --no-recurse-submodules "${tags[@]}" "${depth[@]}" origin "$@"; }

ref=$IN_REF sha=""
if [ -z "$ref" ]; then
  ref=$EVENT_REF sha=$EVENT_SHA
fi
if [ "$IN_DEPTH" = 0 ]; then
  fetch '+refs/heads/*:refs/remotes/origin/*'
fi
if [[ $ref =~ ^[0-9a-f]{40}$ ]]; then
  fetch "$ref"
  git checkout -q --detach "$ref"
elif [[ $ref == refs/pull/* ]]; then
  local_ref="refs/remotes/pull/${ref#refs/pull/}"
  fetch "+$ref:$local_ref"
  git checkout -q --detach "$local_ref"
elif [[ $ref == refs/tags/* ]]; then
  fetch "+$ref:$ref"
  git checkout -q --detach "$ref"
else
  branch=${ref#refs/heads/}
  fetch "+refs/heads/$branch:refs/remotes/origin/$branch"
  if [ -n "$sha" ] && [ "$(git rev-parse "refs/remotes/origin/$branch")" != "$sha" ]; then
    # The branch moved on since the event: the real action fetches the event's commit itself.
    fetch "+$sha:refs/remotes/origin/$branch"
  fi
  git checkout -q -B "$branch" "refs/remotes/origin/$branch"
fi
if [ "$IN_PERSIST" != true ]; then
  git config --local --unset-all "$key"
fi
{
  echo "ref=$ref"
  echo "commit=$(git rev-parse HEAD)"
} >>"$GITHUB_OUTPUT"
echo "checkout (stand-in): $url $ref at $(git rev-parse --short HEAD)" \
  "(fetch-depth $IN_DEPTH, persist-credentials $IN_PERSIST)"

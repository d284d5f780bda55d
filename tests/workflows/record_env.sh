# Sourced through BASH_ENV by every bash of an act run in the tests (tests/workflows/harness.py):
# records each step's environment, unmasked, so a test can say which step held which
# credential (act masks secrets in its log). Once per step: bash started by the step's own
# processes (scripts/ct.sh) inherit the step's environment and the marker. Writes nothing else.
if [ -n "${ACT_HARNESS_ENV_DIR:-}" ] && [ -d "$ACT_HARNESS_ENV_DIR" ] && [ -z "${ACT_HARNESS_RECORDED:-}" ]; then
  export ACT_HARNESS_RECORDED=1
  act_harness_file=$(mktemp "$ACT_HARNESS_ENV_DIR/step.XXXXXXXX") || act_harness_file=""
  if [ -n "$act_harness_file" ]; then
    # The step's script (act writes a `run:` to a file and runs `bash -e <file>`), then the
    # environment, NUL-separated.
    { cat -- "$0" 2>/dev/null; printf '\0'; env -0; } >"$act_harness_file" || true
  fi
  unset act_harness_file
fi

# Wharf's Jupyter boot script, after the variables that apps/jupyter.ts puts before it:
# WS PORT INIT VENV OUTSIDE_GIT GIT_REPO GIT_BRANCH GIT_COMMIT GIT_STORE, PACKAGES and COMMAND (arrays).
set -uo pipefail
say() { echo "wharf: $*"; }
die() { echo "wharf: error: $*"; exit 1; }
redact() { printf '%s' "$1" | sed -E 's#//[^/@]*@#//***@#'; }

mkdir -p "$WS" && cd "$WS" || die "cannot enter the workspace $WS"

# 1. The init script.
if [ -n "$INIT" ]; then
  say "running the init script"
  bash "$INIT"
  code=$?
  [ $code = 0 ] || die "the init script failed with exit code $code"
  say "init script done"
fi

# 2. Extra packages, into a venv that sees the system's packages.
if [ ${#PACKAGES[@]} -gt 0 ]; then
  # Without PIP_INDEX_URL pip uses the index of its own configuration (pip.conf in the image):
  # Wharf names no index of its own.
  index="${PIP_INDEX_URL:-}"
  if [ -n "$index" ]; then
    say "checking the package index $(redact "$index")"
    python3 - "$index" "${PIP_TRUSTED_HOST:-}" <<'PY' || die "no package index reachable at $(redact "$index"): set PIP_INDEX_URL (and PIP_TRUSTED_HOST for plain http or an untrusted certificate) in the config's env"
import ssl, sys, urllib.error, urllib.parse, urllib.request
url, trusted = sys.argv[1], sys.argv[2].split()
host = urllib.parse.urlsplit(url).hostname or ''
context = ssl._create_unverified_context() if host in trusted else None
try:
    urllib.request.urlopen(url, timeout=10, context=context).read(1)
except urllib.error.HTTPError:
    pass  # it answered
except Exception as e:
    print(f"wharf: {type(e).__name__}: {getattr(e, 'reason', e)}")
    sys.exit(1)
PY
  else
    say "no PIP_INDEX_URL in the config's env: pip uses the index the image's pip is configured with"
  fi
  say "installing ${#PACKAGES[@]} extra package(s) into $VENV: ${PACKAGES[*]}"
  [ -x "$VENV/bin/python" ] || python3 -m venv --without-pip --system-site-packages "$VENV" || die "could not make the virtual environment $VENV (is python3-venv installed?)"
  python3 -m pip --python "$VENV/bin/python" install --disable-pip-version-check --no-input --progress-bar off --retries 1 --timeout 15 "${PACKAGES[@]}" \
    || die "pip could not install the extra packages (see the lines above)"
  mkdir -p /opt/wharf/jupyter/kernels/python3
  cat > /opt/wharf/jupyter/kernels/python3/kernel.json <<JSON
{"argv": ["$VENV/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "Python 3 (ipykernel)", "language": "python", "metadata": {"debugger": true}}
JSON
  export JUPYTER_PATH="/opt/wharf/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
  export PATH="$VENV/bin:$PATH" VIRTUAL_ENV="$VENV"
  say "extra packages installed: notebooks run in $VENV"
fi

# 3. The git repository.
if [ -n "$GIT_REPO" ]; then
  if [ "$GIT_STORE" = 1 ]; then target="$WS/git_repo"; else target="$OUTSIDE_GIT"; fi
  if [ -e "$target" ]; then
    say "git: $target is there already (restored): not cloned again"
  else
    say "git: cloning $(redact "$GIT_REPO")${GIT_BRANCH:+ branch $GIT_BRANCH}${GIT_COMMIT:+ at commit $GIT_COMMIT} into $target"
    clone=(git clone --no-progress)
    [ -n "$GIT_BRANCH" ] && clone+=(--branch "$GIT_BRANCH")
    GIT_TERMINAL_PROMPT=0 "${clone[@]}" -- "$GIT_REPO" "$target" 2>&1 || die "git clone of $(redact "$GIT_REPO") failed (see the line above)"
    if [ -n "$GIT_COMMIT" ]; then
      git -C "$target" -c advice.detachedHead=false checkout --quiet --detach "$GIT_COMMIT" 2>&1 || die "git: commit $GIT_COMMIT is not in $(redact "$GIT_REPO")"
    fi
    say "git: $target at $(git -C "$target" log -1 --format='%h %s')"
  fi
  if [ "$GIT_STORE" != 1 ]; then
    ln -sfn "$target" "$WS/git_repo_not_synced" || die "cannot make the symlink $WS/git_repo_not_synced"
    say "git: $WS/git_repo_not_synced → $target (not stored in snapshots)"
  fi
fi

# 4. The config's own command when it has one, else Jupyter: Lab when the image has it, else Notebook.
if [ ${#COMMAND[@]} -gt 0 ]; then
  say "starting the config's command: ${COMMAND[*]}"
  exec "${COMMAND[@]}"
fi
if python3 -c 'import jupyterlab' 2>/dev/null; then
  kind="Jupyter Lab"; app=(python3 -m jupyterlab); cfg=ServerApp; dir=root_dir
elif python3 -c 'import notebook.notebookapp' 2>/dev/null; then
  kind="Jupyter Notebook"; app=(python3 -m notebook); cfg=NotebookApp; dir=notebook_dir
elif python3 -c 'import notebook' 2>/dev/null; then
  kind="Jupyter Notebook"; app=(python3 -m notebook); cfg=ServerApp; dir=root_dir
else
  die "the image has neither Jupyter Lab nor Jupyter Notebook (python3 -m jupyterlab / notebook)"
fi
[ -n "${JUPYTER_TOKEN:-}" ] || die "JUPYTER_TOKEN is not set"
say "starting $kind on port $PORT"
exec "${app[@]}" --no-browser --allow-root \
  --$cfg.ip=0.0.0.0 --$cfg.port="$PORT" --$cfg.port_retries=0 \
  --$cfg.allow_remote_access=True --$cfg.trust_xheaders=True \
  --$cfg.$dir="$WS"

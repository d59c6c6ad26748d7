bash -c 'sudo systemctl start docker'
if timeout -k 5 60 bash -c 'docker info >/dev/null 2>&1'; then
echo 'check passed'
else
  rc=$?
  echo "check still fails after run (exit $rc)" >&2
  exit 1
fi

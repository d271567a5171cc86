# The two commands of the README. Both set up what they need first (idempotent, fast when done).
.PHONY: run test lock
run:
	@bash scripts/setup.sh run
	.venv/bin/emily doctor
	.venv/bin/emily run --demo --console

# The two set-ups install into two venvs at once (each mostly waits on unpacking and disk).
test:
	@export EMILY_TEST_STARTED=$$(date +%s); \
	  [ -x $${EMILY_VENV:-.venv}/bin/python ] || export EMILY_SETUP_FROM_NOTHING=1; \
	  bash scripts/setup_feast.sh & feast=$$!; \
	  bash scripts/setup.sh test; main=$$?; \
	  wait $$feast || { echo "make test: scripts/setup_feast.sh failed" >&2; exit 1; }; \
	  [ $$main = 0 ] || exit $$main; \
	  bash scripts/test.sh

# Re-pin every dependency after changing pyproject.toml (writes requirements.lock).
lock:
	bash scripts/lock.sh

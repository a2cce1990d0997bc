# Front door. `make up` and `make test` are the README's two commands.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= ./berth-data

.PHONY: deps configure build up test unit integration fuzz bench clean

deps:
	./scripts/install-deps.sh

configure: deps
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then \
	  cmake -G Ninja -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo; fi

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Server + local agent, SQLite state under $(DATA_DIR). Builds only the binary.
up: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target berth
	$(BUILD_DIR)/berth up --listen $(LISTEN) --data-dir $(DATA_DIR)

# Everything: unit tests, integration tests with the real AWS CLI and boto3, a bounded fuzz run.
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600
	$(MAKE) fuzz

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L unit

integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration

FUZZ_SECONDS ?= 60
fuzz: deps
	./fuzz/run.sh $(FUZZ_SECONDS)

bench: build
	./bench/run.sh

clean:
	rm -rf $(BUILD_DIR) build-fuzz

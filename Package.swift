// swift-tools-version:6.0
import PackageDescription

/// Hot loops are written for AVX2/FMA/F16C (haswell = x86-64-v3), the machine kind kvd targets.
let optimized: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
    .unsafeFlags(["-target-cpu", "haswell"]),
]

/// Speed benchmarks (`Tests/*/Benchmarks`) print figures and assert nothing about time, so they are
/// not part of the test suite: they build only with `KVD_BENCH=1 swift test -c release --filter …`.
let benchmarks: [String] = Context.environment["KVD_BENCH"] == "1" ? [] : ["Benchmarks"]

let package = Package(
    name: "kvd",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "KVModel", targets: ["KVModel"]),
        .library(name: "KVSpec", targets: ["KVSpec"]),
        .library(name: "KVPress", targets: ["KVPress"]),
        .library(name: "KVMetrics", targets: ["KVMetrics"]),
        .library(name: "KVEngine", targets: ["KVEngine"]),
        .library(name: "KVWire", targets: ["KVWire"]),
        .library(name: "KVBenchKit", targets: ["KVBenchKit"]),
        .executable(name: "kvbench", targets: ["kvbench"]),
        .executable(name: "kvctl", targets: ["kvctl"]),
        .executable(name: "kvd", targets: ["kvd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CLibUV",
            pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev"])]
        ),
        // The Redis client and SHA-256 of sessions shared across replicas (KVServer/Store).
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSLCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        // protoc-c output for Protos/kvd.proto (scripts/generate-proto), committed.
        .target(
            name: "CKVProto",
            dependencies: ["CProtobufC"]
        ),
        // Small compute-free building blocks: this process's memory use, FNV-1a, a bounds-checked
        // little-endian reader, a locked value (shared by the model, the engine, the daemon and kvbench).
        .target(name: "KVSystem"),
        // AVX-512 VNNI kernels, compiled per function for that level and called only where the CPU
        // has it (KVModel's CPULevel); C because Swift cannot target one function at AVX-512.
        .target(
            name: "CKVKernels",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        .target(
            name: "KVModel",
            dependencies: ["COpenBLAS", "KVSystem", "CKVKernels", "KVSpec", .product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: optimized
        ),
        // Spec grammar and the press and quantization catalogs (parameters, defaults, validation).
        // Pure Swift: kvctl uses it, and KVModel builds its quantized-cache configuration from it.
        .target(
            name: "KVSpec"
        ),
        .target(
            name: "KVPress",
            dependencies: ["KVSpec", "KVModel", "KVSystem", "COpenBLAS"],
            resources: [.copy("Resources")],
            swiftSettings: optimized
        ),
        // The metrics record of a load or an ask: Session → wire → CSV → kvbench. Pure Swift.
        .target(name: "KVMetrics"),
        .target(
            name: "KVEngine",
            dependencies: ["KVModel", "KVPress", "KVMetrics", "KVSystem", "KVWire"],
            swiftSettings: optimized
        ),
        // What kvd and its clients exchange: framing, codec, value types (the session-id rule among
        // them), the telemetry row and its CSV, a blocking client. No model, no event loop (kvctl uses it).
        .target(
            name: "KVWire",
            dependencies: ["CKVProto", "CProtobufC", "KVMetrics", "KVSpec", .product(name: "CSV", package: "CSV.swift")]
        ),
        // The daemon's layers: libuv loop, connections, dispatcher, scheduler, sessions, persistence,
        // telemetry, and the `InferenceBackend` protocols. No engine: a backend plugs in through them.
        .target(
            name: "KVServer",
            dependencies: [
                "KVWire", "KVMetrics", "CLibUV", "KVSystem", "CHiredis", "COpenSSLCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // The engine as the daemon's backend: KVEngine sessions behind `InferenceBackend`, and the
        // wire codes of the engine's, model's and press's errors.
        .target(
            name: "KVServerEngine",
            dependencies: [
                "KVServer", "KVWire", "KVMetrics", "KVEngine", "KVPress", "KVModel", "KVSystem",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Evaluation harness: datasets, RULER, metrics, runners, plots (kvbench's library).
        .target(
            name: "KVBenchKit",
            dependencies: ["KVEngine", "KVPress", "KVModel", "KVMetrics", "KVSystem", "KVWire"],
            swiftSettings: optimized
        ),
        .executableTarget(
            name: "kvbench",
            dependencies: [
                "KVBenchKit", "KVEngine", "KVPress", "KVSpec", "KVModel", "KVWire", "KVSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: optimized
        ),
        .executableTarget(
            name: "kvd",
            dependencies: [
                "KVServer", "KVServerEngine", "KVModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "kvctl",
            dependencies: [
                "KVWire", "KVSpec",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Locates the default model and golden fixtures for the test targets.
        .target(
            name: "KVTestSupport",
            dependencies: ["KVModel"],
            path: "Tests/KVTestSupport"
        ),
        .testTarget(
            name: "KVModelTests",
            dependencies: ["KVModel", "KVSpec", "KVTestSupport"],
            exclude: benchmarks,
            resources: [.copy("Fixtures")],
            swiftSettings: optimized
        ),
        .testTarget(
            name: "KVEngineTests",
            dependencies: ["KVEngine", "KVMetrics", "KVPress", "KVModel", "KVWire", "KVTestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: optimized
        ),
        .testTarget(
            name: "KVBenchKitTests",
            dependencies: ["KVBenchKit", "KVMetrics", "KVEngine", "KVPress", "KVModel", "KVWire", "KVTestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: optimized
        ),
        .testTarget(
            name: "KVPressTests",
            dependencies: ["KVPress", "KVModel", "KVTestSupport"],
            exclude: benchmarks,
            resources: [.copy("Fixtures")],
            swiftSettings: optimized
        ),
        .testTarget(
            name: "KVServerTests",
            dependencies: ["KVServer", "KVServerEngine", "KVMetrics", "KVSystem", "KVEngine", "KVPress", "KVModel", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "KVSpecTests",
            dependencies: ["KVSpec"]
        ),
        .testTarget(
            name: "KVWireTests",
            dependencies: ["KVWire", "KVMetrics", "CKVProto", "CProtobufC"]
        ),
    ],
    swiftLanguageModes: [.v5]
)

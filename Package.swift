// swift-tools-version:6.0
import PackageDescription

/// Hot loops are written for AVX2/FMA/F16C (haswell = x86-64-v3), the machine kind kvd targets.
let optimized: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
    .unsafeFlags(["-target-cpu", "haswell"]),
]

let package = Package(
    name: "kvd",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "KVModel", targets: ["KVModel"]),
        .library(name: "KVPress", targets: ["KVPress"]),
        .library(name: "KVEngine", targets: ["KVEngine"]),
        .library(name: "KVBenchKit", targets: ["KVBenchKit"]),
        .executable(name: "kvbench", targets: ["kvbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "KVModel",
            dependencies: ["COpenBLAS"],
            swiftSettings: optimized
        ),
        .target(
            name: "KVPress",
            dependencies: ["KVModel", "COpenBLAS"],
            swiftSettings: optimized
        ),
        .target(
            name: "KVEngine",
            dependencies: ["KVModel", "KVPress"],
            swiftSettings: optimized
        ),
        .target(
            name: "KVBenchKit",
            dependencies: ["KVEngine", "KVPress", "KVModel"],
            swiftSettings: optimized
        ),
        .executableTarget(
            name: "kvbench",
            dependencies: [
                "KVBenchKit", "KVEngine", "KVPress", "KVModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: optimized
        ),
        .testTarget(
            name: "KVModelTests",
            dependencies: ["KVModel"],
            resources: [.copy("Fixtures")],
            swiftSettings: optimized
        ),
        .testTarget(
            name: "KVEngineTests",
            dependencies: ["KVEngine", "KVPress", "KVModel"],
            resources: [.copy("Fixtures")],
            swiftSettings: optimized
        ),
        .testTarget(
            name: "KVBenchKitTests",
            dependencies: ["KVBenchKit", "KVEngine", "KVPress", "KVModel"],
            resources: [.copy("Fixtures")],
            swiftSettings: optimized
        ),
        .testTarget(
            name: "KVPressTests",
            dependencies: ["KVPress", "KVModel"],
            resources: [.copy("Fixtures")],
            swiftSettings: optimized
        ),
    ],
    swiftLanguageModes: [.v5]
)

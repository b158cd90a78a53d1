import KVModel
let f = try GGUFFile(path: CommandLine.arguments[1])
for k in f.metadataKeys { let v = f.metadata[k]!; if case .array(let a) = v { print(k, "array", a.count, (a.strings?.prefix(5)).map{"\($0)"} ?? "") } else { print(k, v) } }
for t in f.tensors.prefix(14) { print(t.name, t.shape, t.type) }
print(Set(f.tensors.map{$0.type.name}))

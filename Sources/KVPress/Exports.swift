// Specs and the press catalog are part of KVPress's API: whoever builds presses reads and
// writes their specs.
@_exported import KVSpec

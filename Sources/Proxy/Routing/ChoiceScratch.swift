/// Buffers reused across choices by one connection handler.
struct ChoiceScratch {
    var loads: [BackendLoad] = []
    var positions: [Int] = []
}

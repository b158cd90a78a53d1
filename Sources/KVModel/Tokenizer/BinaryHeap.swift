/// A binary heap ordered by `before` (the element for which `before` holds against every other pops first).
struct BinaryHeap<Element> {
    private var items: [Element] = []
    private let before: (Element, Element) -> Bool

    init(before: @escaping (Element, Element) -> Bool) {
        self.before = before
    }

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if !before(items[i], items[parent]) { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var i = 0
        let n = items.count
        while true {
            let a = 2 * i + 1, b = a + 1
            var m = i
            if a < n && before(items[a], items[m]) { m = a }
            if b < n && before(items[b], items[m]) { m = b }
            if m == i { break }
            items.swapAt(m, i)
            i = m
        }
        return first
    }
}

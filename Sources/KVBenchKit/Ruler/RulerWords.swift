/// Plain English words for RULER's keys ("adjective-noun", as RULER builds them from
/// wonderwords' lists) and for the common-words task. Written for kvd; any list of distinct
/// simple words would do.
public enum RulerWords {
    public static let adjectives: [String] = """
        able absent acid aged alert ancient angry autumn awake bitter black blue bold brave brief bright \
        broad broken busy calm careful cheap chief clean clever cold cool crazy curly damp dark dear deep \
        dry dusty eager early easy empty equal faint fair famous fancy fast fierce flat fresh friendly \
        funny gentle giant glad golden grand great green grey happy hard heavy hollow honest huge humble \
        icy jolly keen kind large late lazy light little lively long loud lucky mad messy mighty modern \
        narrow neat nervous new nice noisy odd old orange pale plain polite poor proud purple quick quiet \
        rapid rare raw red rich rough round royal rural sad safe salty sharp shiny short shy silent silly \
        simple slow small smooth soft solid sour spicy steady steep sticky stiff strange strong sunny \
        sweet swift tall tame thick thin tidy tiny tough upper vast violet warm weak wet white wide wild \
        wise wooden young
        """.split(separator: " ").map(String.init)

    public static let nouns: [String] = """
        actor airport anchor angle animal apple arch arm army baker balloon banana band bank barn basket \
        beach bean bear bed bell bicycle bird blanket boat bone book boot bottle box bread brick bridge \
        brush bucket butter button cabin cable cake camera camp candle canoe car card carpet castle cat \
        cave chair chalk cheese cherry chicken church circle city clock cloud coat coffee coin comb copper \
        corn cotton cow crayon crown cup curtain desk diamond dinner doctor dog door dragon dress drum duck \
        eagle egg elbow engine falcon farm feather fence finger fish flag flower forest fork fountain fox \
        garden gate ghost glass glove goat guitar hammer harbor hat hill horse house island jacket jar \
        jewel kettle key kite ladder lake lamp leaf lemon letter library lion map market meadow mirror \
        monkey moon mountain mouse nail needle nest ocean office onion orchard owl paint palace pancake \
        paper parrot pencil piano pillow pizza planet plate pocket pond potato pumpkin queen rabbit radio \
        river road robot rocket roof rope saddle sail salad school shadow sheep shell ship shoe silver \
        snake sock spoon square stamp star station stone storm street sugar table tiger tomato tower \
        train tree truck tunnel turtle umbrella valley village violin wagon wall whale wheel window wolf
        """.split(separator: " ").map(String.init)

    /// Every "adjective-noun" pair, sorted.
    public static let keys: [String] = adjectives.flatMap { a in nouns.map { "\(a)-\($0)" } }.sorted()

    /// Single words for the common-words task (adjectives and nouns, sorted, distinct).
    public static let plainWords: [String] = Array(Set(adjectives + nouns)).sorted()
}

"""The small closed vocabularies the offline agent needs to tell a name from other words.

None of these is a list of names or a list of "bad names": they are the words of
English that fill the same slot a name could ("I'm ___", "this is ___") without
being one — function words, states, nationalities, titles — plus the word shapes
(`looks_like_a_state`) that mark adjectives and participles. Open classes are
caught by shape, closed ones by listing; a name in an explicit frame ("my name
is ___") needs neither.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Articles, pronouns, prepositions, conjunctions, auxiliaries, common adverbs and interjections.
FUNCTION_WORDS = _words(
    """
    a an the this that these those my your his her its our their me you him them us it i we they he she
    one someone somebody nobody noone everyone everybody anyone anybody nothing something everything
    anything not no never nor just still also only so very really quite too here there back now then
    today tomorrow yesterday tonight soon later again always already almost about above after against
    all and any as at because before below between both but by can could did do does for from further
    had has have how if in into is are am was were be been being more most other out over own same
    should some such than to under until up down what when where which while who whom whose why
    with would yes yeah yep nope please sorry sure ok okay fine well able unable actually currently
    literally honestly basically totally extremely absolutely completely definitely probably certainly
    seriously simply finally even maybe perhaps kind sort like getting going gonna trying looking
    waiting having writing calling contacting reaching following checking asking wondering hoping
    on off via per or yet
    """
)
# States, evaluations and roles that follow "I'm" / "this is" / "it's" without a name's shape.
PREDICATE_WORDS = _words(
    """
    afraid sad mad glad alive alone angry anxious ashamed awake aware bad better best big busy calm
    certain cold cool crazy
    dead done eager early easy empty fair free full furious good great happy hard hot hungry ill
    important impossible late lost new nice normal old open poor ready real right safe serious sick
    slow stuck true upset urgent weird wrong young terrible horrible awful amazing broken frozen stolen
    gone closed locked missing pending home away abroad outside inside online offline ridiculous
    insane nuts livid fuming fed annoying confusing boring customer client member user admin owner
    guest subscriber buyer seller manager staff employee premium gold vip regular loyal back
    cross gay straight trans male female broke rich single married blind deaf brave kind polite rude
    honest proud lonely thirsty elderly senior junior guilty healthy wealthy sleepy grumpy silly lucky
    worthy nosy fussy picky warm asleep over through complete correct mistaken liable basic plus pro
    prime platinum silver bronze teacher nurse engineer lawyer developer designer driver worker
    freelancer contractor retiree pensioner parent mum mom dad mother husband wife partner patient
    student programmer work office school overseas upstairs downstairs human person robot bot
    one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty sixty
    seventy eighty ninety hundred paying running hating buying sending emailing saying desperate
    alright excellent frequent weary burnt owed heartbroken
    shaken forgotten mistaken taken written beaten hidden fallen swollen rotten
    """
)
DEMONYMS = _words(
    """
    american british english french german spanish italian portuguese dutch irish scottish welsh
    canadian mexican brazilian argentinian argentine chilean colombian peruvian cuban venezuelan
    chinese japanese korean vietnamese thai filipino indian pakistani bangladeshi indonesian malaysian
    australian polish czech slovak hungarian romanian bulgarian greek turkish russian ukrainian swedish
    norwegian danish finnish icelandic swiss austrian belgian israeli egyptian moroccan nigerian kenyan
    ethiopian ghanaian iranian iraqi saudi lebanese syrian taiwanese nepalese european asian african
    latino latina hispanic arab arabic jewish muslim catholic protestant hindu buddhist sikh vegan
    vegetarian
    """
)
TIME_WORDS = _words(
    """
    monday tuesday wednesday thursday friday saturday sunday weekend january february march april may
    june july august september october november december christmas easter midnight noon morning
    afternoon evening night
    """
)
# Words that can stand before a surname: "This is Dr. Smith" names "Dr. Smith", never "Dr".
TITLES = _words(
    """
    dr doctor mr mister mrs ms miss mx prof professor sir dame lady lord madam madame mme mlle rev
    reverend fr father sr sra srta señor señora señorita herr frau capt captain officer judge sister
    coach
    """
)
# Lower-case particles inside a full name: "Ludwig van Beethoven", "María de la Cruz".
NAME_PARTICLES = _words("van von de da di del della der den du la le bin ibn al el dos das ter ten y")
# Given names that happen to have an adjective's or participle's ending.
NAMES_SHAPED_LIKE_STATES = _words(
    "ahmed mohammed muhammed mohamed khaled javed hamed rashed zayed majed sajed fahed naved alfred wilfred "
    "manfred winifred mildred irving sterling channing"
)

# Mandarin syllables in pinyin (without tones), by initial: a name such as "Xiaoming" or "Jianping"
# ends in "-ing" without being a participle, and is told apart by being made of these syllables only.
_PINYIN_FINALS = {
    "b p m": "a o ai ei ao an en ang eng i ie iao ian in ing u",
    "f": "a o ei ou an en ang eng u",
    "d t": "a e ai ei ao ou an ang eng ong i ie iao iu ian ing u uo ui uan un",
    "n l": "a e ai ei ao ou an en ang eng ong i ie iao iu ian in iang ing u uo uan un ü üe",
    "g k h": "a e ai ei ao ou an en ang eng ong u ua uo uai ui uan un uang",
    "j q x": "i ia ie iao iu ian in iang ing iong u ue uan un",
    "zh ch sh r": "a e i ai ei ao ou an en ang eng ong u ua uo uai ui uan un uang",
    "z c s": "a e i ai ei ao ou an en ang eng ong u uo ui uan un",
    "y": "a ao an ang e i in ing o ong ou u uan ue un",
    "w": "a ai an ang ei en eng o u",
}
_PINYIN = frozenset(
    initial + final
    for initials, finals in _PINYIN_FINALS.items()
    for initial in initials.split()
    for final in finals.split()
) | frozenset("me mou miu pou lo lia dia".split())
_PINYIN_FIRST = frozenset("a o e ai ei ao ou an en ang eng er".split())  # no initial: only first


def _is_pinyin(word: str) -> bool:
    """Whether `word` is a run of pinyin syllables ("xiaoming" = xiao + ming)."""
    ends = {0}
    for i in range(len(word)):
        if i in ends:
            for j in range(i + 1, min(len(word), i + 6) + 1):
                if word[i:j] in _PINYIN or i == 0 and word[i:j] in _PINYIN_FIRST:
                    ends.add(j)
    return len(word) in ends


# Contractions ("I'm", "that's", "don't") are never names; "O'Brien", "D'Angelo" are.
_CONTRACTION_ENDINGS = ("'m", "'re", "'ve", "'ll", "'d", "'t", "'s")

# (ending, shortest word length with it) for adjectives and participles. Each length is past the
# given names with that ending: "Clive" and "Olive" (-ive), "Dominic" (-ic, so only -tic, -gic,
# -ical), "Vincent" and "Laurent" (-ent, so only -ient, -dent), "Prashant" (-ant, so only -nant,
# -tant from eight letters).
_STATE_ENDINGS = (
    ("ed", 5),
    ("ing", 5),
    ("ous", 5),
    ("ful", 5),
    ("less", 6),
    ("able", 6),
    ("ible", 6),
    ("ive", 6),
    ("ese", 6),
    ("tic", 6),
    ("gic", 7),
    ("ical", 7),
    ("ient", 7),
    ("dent", 7),
    ("nant", 8),
    ("tant", 8),
)


def looks_like_a_state(word: str) -> bool:
    """Whether `word` has the shape of an adjective or participle ("Frustrated", "Unhappy", "Having")."""
    w = word.lower()
    if w in NAMES_SHAPED_LIKE_STATES:
        return False
    if w.startswith("un") and len(w) >= 6:
        return True
    if w.endswith("eed") or w.endswith("rese") or w.endswith("ing") and _is_pinyin(w):
        return False  # Reed, Therese, Xiaoming
    return any(w.endswith(ending) and len(w) >= shortest for ending, shortest in _STATE_ENDINGS)


def is_function_word(word: str) -> bool:
    """Articles, pronouns, prepositions, adverbs, contractions: never a name, whatever the frame."""
    w = word.lower()
    return w in FUNCTION_WORDS or w.endswith(_CONTRACTION_ENDINGS)


def is_never_a_name(word: str) -> bool:
    """Words of a closed class that fill the slot of "I'm ___" without being a name."""
    w = word.lower()
    return is_function_word(w) or w in PREDICATE_WORDS or w in DEMONYMS or w in TITLES

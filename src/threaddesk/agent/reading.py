"""What each sentence of a customer's message does: introduce, greet, thank, ask, or state a concern.

The offline agent answers from these acts, so everything it can understand is
listed here; a sentence that matches none of them is `UNCLEAR`, and the agent
says so instead of guessing.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import Enum

from threaddesk.agent.names import name_in_sentence
from threaddesk.agent.sentences import sentences, tokens


class Act(Enum):
    INTRODUCTION = "introduction"
    NAME_QUESTION = "name question"  # "What's my name?"
    NAME_CHECK = "name check"  # "Am I Alice?"
    CONCERN_QUESTION = "concern question"  # "What was my issue?"
    ORDER_QUESTION = "order question"  # "What was my order number?"
    CONCERN = "concern"  # "My parcel never arrived."
    FEELING = "feeling"  # "I'm frustrated."
    THANKS = "thanks"
    GOODBYE = "goodbye"
    GREETING = "greeting"
    SMALL_TALK = "small talk"  # "How are you?"
    ACKNOWLEDGEMENT = "acknowledgement"  # "ok", "no"
    ABOUT_THE_AGENT = "about the agent"  # "Who are you?", "Are you a bot?"
    HELP = "help"  # "Can you help me?" with nothing yet to help with
    UNCLEAR = "unclear"


@dataclass(frozen=True)
class Sentence:
    """One sentence as written, what it does, and the name it gives or asks about (if any)."""

    text: str
    act: Act
    name: str | None = None
    # How a name question is put: "yes/no" ("Do you know who I am?"), "who" ("Who am I?") or "what".
    form: str = "what"


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# Patterns run on the plain form of a sentence (`_plain`): lower case, words and digits, single spaces.
_NAME_QUESTION = _any(
    r"\bwhat(?: ?s| is| was) my (?:first |full )?name\b",
    r"\bwho am i\b(?! (?:talking|speaking|chatting|writing) (?:to|with))",
    r"\b(?:know|remember|recall|tell me|say|have|got|forgot|forget) my (?:first |full )?name\b",
    r"\b(?:know|remember|recall|forgot|forget) who i am\b",
    r"\b(?:know|remember|recall|recognise|recognize) me\b",
    r"\bwhat (?:do|did|should|will|would) you call me\b",
    r"\bwhat name (?:did i|do you have|have i)\b",
    r"\bremind me (?:of )?(?:my name|who i am)\b",
    r"\bwho do you think i am\b",
    r"\b(?:know|remember) who you(?: re| are) (?:talking|speaking|chatting) (?:to|with)\b",
    r"\bwhat do you know about me\b",
    r"\b(?:did|have) i (?:tell|told|give|given) you my name\b",
    r"^my name$",
)
_YES_NO = re.compile(
    r"^(?:did|have) i (?:tell|told|give|given) you|"
    r"^(?:(?:do|did|does|can|could) you (?:still )?|you (?:still )?)?(?:know|remember|recall|recogni[sz]e)\b"
)
_WHO = re.compile(r"\bwho (?:am i|do you think i am)\b")
_NAME_CHECK = re.compile(r"^(?:is my name|am i) (?P<rest>.+)$")
_ORDER_QUESTION = _any(
    r"\b(?:what|which)(?: ?s| is| was)? (?:my|the) order (?:number|no|id|reference)\b",
    r"\b(?:know|remember|recall|have) my order (?:number|no|id|reference)\b",
    r"\bwhich order (?:was it|did i|is it)\b",
    r"^my order (?:number|no|id)$",
)
_CONCERN_QUESTION = _any(
    r"\bwhat(?: ?s| is| was| were) my "
    r"(?:issue|problem|question|request|complaint|concern|query|case|ticket|trouble)s?\b",
    r"\bwhat did i "
    r"(?:say|ask|tell you|need|want|report|write|mention|complain|contact you|come here|message)\b",
    r"\bwhat (?:was|am|were) i "
    r"(?:asking|talking|writing|complaining|here|contacting you|messaging) ?(?:about|for)?\b",
    r"\bwhy (?:did i|am i) (?:contact|write|message|here|get in touch)",
    r"\bremind me\b",
    r"\bwhere (?:were we|did we leave off)\b",
    r"\b(?:know|remember|recall) (?:my|the) (?:issue|problem|question|request|complaint|concern)\b",
    r"\b(?:know|remember|recall) what "
    r"(?:i (?:said|asked|told you|wrote|wanted|needed)|my (?:issue|problem) (?:is|was))\b",
    r"^my (?:issue|problem)$",
    r"\b(?:summari[sz]e|repeat|recap) (?:my|the) (?:issue|problem|question|request|complaint|concern)",
    r"^what (?:was|is|s) the (?:issue|problem)(?: again)?$",
)
_ABOUT_THE_AGENT = _any(
    r"\bwhat(?: ?s| is) your name\b",
    r"^who (?:are you|am i (?:talking|speaking|chatting) (?:to|with))\b",
    r"\bare you (?:a |an )?(?:bot|robot|human|person|real person|ai|machine|real)\b",
)
_GREETING = re.compile(
    r"^(?:(?:hi|hello|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|day)|morning|evening)"
    r"(?: (?:there|again|everyone|all|team|support|folks))?)+$"
)
_SMALL_TALK = re.compile(
    r"^(?:and )?how (?:are you|are things|is it going|s it going|do you do)(?: doing)?(?: today)?$"
)
_THANKS = re.compile(
    r"^(?:(?:ok|okay|great|perfect|awesome|cool|brilliant|wonderful|excellent|nice|fantastic|lovely|"
    r"alright|got it|that helps|that s great|that s helpful|very helpful) )*"
    r"(?:thanks|thank you|thx|ty|cheers|many thanks|much appreciated|(?:i )?appreciate (?:it|that|your help))"
    r"(?: (?:a lot|so much|very much|a bunch|again|anyway|for (?:the|your|all (?:the|your)) \w+(?: \w+)?))*"
    r"(?: (?:bye|goodbye))?$"
)
_GOODBYE = _any(
    r"^(?:(?:ok|okay|great|alright|thanks|thank you|cheers) )*"
    r"(?:bye|goodbye|good bye|bye bye|see you|see ya|cya|later)(?: now| then| for now)?$",
    r"^(?:ok |okay )?no(?:pe)? thanks?(?: you)?$",
    r"\b(?:have a (?:good|nice|great|lovely) (?:day|one|evening|night|weekend)|take care)\b",
    r"^(?:no )?(?:that s|that is) (?:all|it|everything)(?: for now| for today| thanks| thank you)*$",
    r"^(?:no )?nothing else(?: thanks| thank you)*$",
    r"^i m (?:all set|good now|done here)$",
)
_ACKNOWLEDGEMENT = re.compile(
    r"^(?:ok|okay|k|kk|sure|alright|all right|yes|yeah|yep|yup|no|nope|nah|fine|cool|great|got it|i see|"
    r"understood|right|hmm+|hm+|sounds good|makes sense|perfect|good|yes please|please)$"
)
_HELP = re.compile(
    r"^(?:(?:hi|hello|hey) )?"
    r"(?:(?:can|could|would) you (?:please )?help(?: me)?|(?:i )?need (?:some |your )?help|"
    r"help(?: me)?|i have a question|can i ask (?:you )?a question)(?: please)?$"
)
_FEELING = re.compile(
    r"\b(?:frustrated|angry|upset|annoyed|furious|disappointed|unhappy|mad|sad|worried|stressed|fed up|"
    r"livid|fuming|confused|ridiculous|unacceptable|terrible|awful)\b"
)
# Words that make a sentence a support concern: the things customers write in about and what goes wrong.
_CONCERN = re.compile(
    r"\b(?:orders?|parcels?|packages?|deliver(?:y|ies|ed)?|shipments?|shipping|shipped|items?|products?|"
    r"refunds?|returns?|returned|exchange|charged?|charges|payments?|paid|pay|cards?|bill(?:ed|ing)?|"
    r"invoices?|receipts?|subscriptions?|accounts?|log ?in|login|sign ?in|password|email|address|"
    r"tracking|courier|box|price|money|fees?|discount|coupon|voucher|warranty|replacement|device|app|"
    r"website|site|error|bug|crash(?:ed|es)?|issues?|problems?|complaint|arrived|arrive|never|missing|"
    r"lost|late|delayed|damaged|broken|wrong|stolen|cancel(?:led|ed)?|twice|double|can t|cannot|couldn t|"
    r"won t|doesn t|didn t|isn t|hasn t|haven t|wasn t|aren t|not working|stopped|failed|fails|locked|"
    r"declined|defective|faulty|help|need|want|would like|still waiting|"
    r"cracked|scratched|dented|torn|ripped|leak(?:s|ing|ed)?|wet|fit|fits|size|receive|received|came|"
    r"overcharged|sent|quality|hacked|speak to|talk to|manager|reset|cancel(?:ling|ing)?)\b"
)
_ORDER_NUMBER = re.compile(
    r"(?:#\s?(\d{2,})|\b(?:order|parcel|package|shipment|invoice)s?\s*(?:number|no\.?|n[º°]|id|#)?\s*:?\s*#?\s*(\d{2,}))",
    re.IGNORECASE,
)


def _plain(sentence: str) -> str:
    """Lower-case words and numbers, single-spaced ("What's my name?" → "what s my name")."""
    words = []
    for tok in tokens(sentence.lower()):
        if tok.kind != "mark" or tok.text == "#":  # "#" kept: "order #1042" → "order # 1042"
            words.extend(tok.text.replace("'", " ").replace("-", " ").split())
    return " ".join(words)


def _checked_name(sentence: str, plain: str) -> str | None:
    """The name in "Am I Alice?" / "Is my name Alice?", as written, if the sentence is that check."""
    match = _NAME_CHECK.match(plain)
    if not match:
        return None
    words = [t for t in tokens(sentence) if t.is_word]
    asked = words[len(words) - len(match["rest"].split()) :]
    if not asked or not asked[0].capitalised:
        return None
    return " ".join(t.text for t in asked)


def _act(sentence: str, plain: str) -> Sentence:
    """What a sentence does besides introducing its writer, judged from `plain` (its plain form, or
    that of its clauses other than the introduction)."""
    if not plain:
        return Sentence(sentence, Act.UNCLEAR)
    if _NAME_QUESTION.search(plain):
        form = "yes/no" if _YES_NO.search(plain) else "who" if _WHO.search(plain) else "what"
        return Sentence(sentence, Act.NAME_QUESTION, form=form)
    checked = _checked_name(sentence, plain)
    if checked:
        return Sentence(sentence, Act.NAME_CHECK, name=checked)
    for pattern, act in (
        (_ORDER_QUESTION, Act.ORDER_QUESTION),
        (_CONCERN_QUESTION, Act.CONCERN_QUESTION),
        (_ABOUT_THE_AGENT, Act.ABOUT_THE_AGENT),
        (_GREETING, Act.GREETING),
        (_SMALL_TALK, Act.SMALL_TALK),
        (_GOODBYE, Act.GOODBYE),
        (_THANKS, Act.THANKS),
        (_ACKNOWLEDGEMENT, Act.ACKNOWLEDGEMENT),
        (_HELP, Act.HELP),
        (_CONCERN, Act.CONCERN),
        (_ORDER_NUMBER, Act.CONCERN),
        (_FEELING, Act.FEELING),
    ):
        if pattern.search(plain):
            return Sentence(sentence, act)
    return Sentence(sentence, Act.UNCLEAR)


@functools.lru_cache(maxsize=4096)
def read(text: str) -> tuple[Sentence, ...]:
    """What each sentence of a message does, in order (cached: every turn rereads the context).

    A sentence that introduces its writer and does something else in another clause too
    ("I'm Alice, what's my name?", "I'm calling about my order, this is Tom") yields both
    acts, the introduction first.
    """
    out: list[Sentence] = []
    for sentence in sentences(text):
        name = name_in_sentence(sentence)
        if not name:
            out.append(_act(sentence, _plain(sentence)))
            continue
        out.append(Sentence(sentence, Act.INTRODUCTION, name=name))
        also = _act(sentence, _other_clauses(sentence, name))
        if also.act not in (Act.UNCLEAR, Act.GREETING, Act.ACKNOWLEDGEMENT):
            out.append(also)
    return tuple(out)


def _other_clauses(sentence: str, name: str) -> str:
    """The plain text of the clauses that do not give the name ("I'm calling about my order, this is Tom")."""
    clauses = re.split(r",|;|\band\b|\bbut\b|\bso\b|\bbecause\b", sentence)
    with_name = [c for c in clauses if name in c] or [c for c in clauses if name.lower() in c.lower()]
    return " ".join(_plain(c) for c in clauses if c not in with_name[:1]).strip()


def order_numbers(text: str) -> list[str]:
    """The order (or parcel, invoice) numbers a text mentions, in order of appearance."""
    return [m.group(1) or m.group(2) for m in _ORDER_NUMBER.finditer(text)]

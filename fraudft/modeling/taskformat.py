"""The task format: the prompt a record is put in and the answer the model is trained to give.

    fmt = TaskFormat(prompt="chat_template", separator="\\n", answer="is_fraud_speaker_reason")
    fmt.prompt_text(tokenizer, instruction, dialogue)   # ends where the assistant's answer starts
    fmt.answer_text(record)   # '{"is_fraud": true, "fraud_speaker": "张三", "reason": "..."}'
    fmt.terminator(tokenizer) # the token id that ends the answer

Built once (a recipe's `[format]` table, or the CLI's --prompt/--system-prompt/--separator/--answer),
handed to encoding, training and evaluation, saved with the adapter and recorded in every run record.

Prompts (PROMPTS, registered by name with `@prompt`):
- `reference`: the reference's hard-coded ChatML string REFERENCE_PROMPT around instruction + input
  (REFERENCE §2; the golden ids of tests/modeling/test_encode.py). Its answer ends with the pad
  token, as in the reference (`<|endoftext|>` for Qwen2), else eos. `system_prompt` must be None
  (the string's own "You are a helpful assistant." is part of the reference).
- `chat_template`: the tokenizer's own chat template (`apply_chat_template`, generation prompt added),
  with `system_prompt` as a system message, or none (None: the template's own default, e.g. Qwen2's
  "You are a helpful assistant."). Its answer ends with what the template writes after an
  assistant message's content: a conversation with an assistant message is rendered and the first
  token after the content is taken (`<|im_end|>` for Qwen2, `<|eot_id|>` for Llama-3,
  `<end_of_turn>` for Gemma; eos where the template writes nothing after it), so the model learns to
  stop the way it is served. The template gets its family's keyword arguments (Qwen3's
  enable_thinking=False; fraudft.modeling.families.chat_template_kwargs). A template that fails to render raises UsageError naming the tokenizer.

The separator joins instruction and input: "" (the default) as the reference, which keeps the golden
ids; LLaMA-Factory's alpaca template joins them with "\\n" (the 0819 instruction ends with a newline,
the 0902 one does not, so with "" its prompt runs into the first speaker's name).

Answer schemas (ANSWERS, registered by name with `@answer`): `is_fraud` -> `{"is_fraud": true}` (the
reference's, the default); `is_fraud_speaker_reason` -> `{"is_fraud": ..., "fraud_speaker": ...,
"reason": ...}` from the record's fraud_speaker and reason (the series' final format). is_fraud comes
first in both, so score mode's shared prefix `{"is_fraud": ` is the same.

The task (fraudft.task; `task`, default is_fraud) owns the label: an answer writes the task's
`answer_key` with `answer_value(record[label_field])`, and a format's answer must be one of the
task's `answers`. `to_dict` leaves `task` out for the default task, so a default format's dict (in
run records and beside adapters) is the one written before tasks existed.

Tokenizers without a pad token (Llama-3): padding uses the eos id (pad_token_id below, the one place
train, evaluate and collation take it from). Pads are masked (attention_mask 0, labels -100), so the
choice changes no loss or score; under `reference` the answer's terminator is then eos too.
"""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import asdict, dataclass
from typing import Callable

from fraudft.core import jsonio
from fraudft.core.errors import DataError, DataWarning, UsageError
from fraudft.core.registry import Registry
from fraudft.task import DEFAULT_TASK, TASKS, Task

REFERENCE_PROMPT = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"
)
ANSWER_MARGIN = 8  # generate mode: max_new_tokens = the longest trained answer + this many tokens


@dataclass(frozen=True)
class Prompt:
    name: str
    render: Callable  # render(tokenizer, fmt, text) -> the prompt string
    terminator: Callable  # terminator(tokenizer) -> the id ending the answer


@dataclass(frozen=True)
class Answer:
    name: str
    fields: tuple[str, ...]  # the JSON keys, in order; the task's answer_key (is_fraud) first
    text: Callable  # text(record, task) -> the answer's JSON text; KeyError names a missing field


PROMPTS: Registry[Prompt] = Registry("prompt")
ANSWERS: Registry[Answer] = Registry("answer schema")


def prompt(name: str, terminator: Callable):
    """Decorator registering `render(tokenizer, fmt, text) -> str` as prompt `name`, its answers
    ended by `terminator(tokenizer) -> id`."""
    return PROMPTS.decorator(name, wrap=lambda fn: Prompt(name, fn, terminator))


def answer(name: str, fields: tuple[str, ...]):
    """Decorator registering `text(record, task) -> str` as answer schema `name` with these JSON keys
    (the task's answer_key first; a task lists the schemas that train it in `Task.answers`)."""
    return ANSWERS.decorator(name, wrap=lambda fn: Answer(name, fields, fn))


def _tokenizer_name(tokenizer) -> str:
    return getattr(tokenizer, "name_or_path", None) or type(tokenizer).__name__


def pad_token_id(tokenizer) -> int:
    """The id batches are padded with: the pad token, else eos (Llama-3 has no pad token; pads are
    masked, so which id fills them changes nothing). UsageError when there is neither."""
    token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if token_id is None:
        raise UsageError(f"{_tokenizer_name(tokenizer)}: tokenizer has neither a pad nor an eos token")
    return token_id


def with_pad_token(tokenizer):
    """The tokenizer itself when it has a pad token; else a shallow copy padding with eos (see pad_token_id)."""
    if tokenizer.pad_token_id is not None:
        return tokenizer
    pad_token_id(tokenizer)  # raises when there is no eos either
    padded = copy.copy(tokenizer)
    # the shallow copy shares the special-token map: give it its own before setting the pad token
    padded._special_tokens_map = copy.copy(tokenizer._special_tokens_map)
    padded.pad_token = tokenizer.eos_token
    return padded


# ---- prompts -------------------------------------------------------------------------------------

def _apply(tokenizer, messages: list[dict], generation_prompt: bool) -> str:
    from fraudft.modeling.families import chat_template_kwargs

    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt,
                                             **chat_template_kwargs(tokenizer))
    except Exception as err:  # jinja2's TemplateError (raise_exception), ValueError (no template), ...
        raise UsageError(f"{_tokenizer_name(tokenizer)}: prompt chat_template: the tokenizer's chat template "
                         f"failed to render ({type(err).__name__}: {err}), expected a template that renders a "
                         "user message (and the system prompt, if given), or --prompt reference") from None


def _messages(fmt: "TaskFormat", user: str) -> list[dict]:
    system = [] if fmt.system_prompt is None else [{"role": "system", "content": fmt.system_prompt}]
    return system + [{"role": "user", "content": user}]


def _reference_terminator(tokenizer) -> int:
    """The pad token, as in the reference, else eos."""
    return pad_token_id(tokenizer)


_SENTINEL = "FRAUDFT-ANSWER-SENTINEL"


def _chat_terminator(tokenizer) -> int:
    """The first token the template writes after an assistant message's content (eos if none)."""
    text = _apply(tokenizer, [{"role": "user", "content": "u"}, {"role": "assistant", "content": _SENTINEL}], False)
    if _SENTINEL not in text:
        raise UsageError(f"{_tokenizer_name(tokenizer)}: prompt chat_template: the chat template does not write "
                         "an assistant message's content, expected one that does")
    after = tokenizer(text.split(_SENTINEL, 1)[1], add_special_tokens=False)["input_ids"]
    if after:
        return after[0]
    if tokenizer.eos_token_id is None:
        raise UsageError(f"{_tokenizer_name(tokenizer)}: prompt chat_template: the template writes nothing after "
                         "an answer and the tokenizer has no eos token, expected one of them to end the answer")
    return tokenizer.eos_token_id


@prompt("reference", terminator=_reference_terminator)
def _reference(tokenizer, fmt: "TaskFormat", text: str) -> str:
    return REFERENCE_PROMPT.format(text=text)


@prompt("chat_template", terminator=_chat_terminator)
def _chat_template(tokenizer, fmt: "TaskFormat", text: str) -> str:
    return _apply(tokenizer, _messages(fmt, text), True)


# ---- answers -------------------------------------------------------------------------------------

def _json(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _label(record: dict, task: Task) -> dict:
    """The answer's label key and value: {answer_key: answer_value(the record's label)}."""
    return {task.answer_key: task.answer_value(record[task.label_field])}


@answer("is_fraud", ("is_fraud",))
def _is_fraud(record: dict, task: Task) -> str:
    return _json(_label(record, task))


@answer("is_fraud_speaker_reason", ("is_fraud", "fraud_speaker", "reason"))
def _is_fraud_speaker_reason(record: dict, task: Task) -> str:
    reason = record.get("reason")
    if reason is None:  # a dataset row holds None where a record had no reason
        raise KeyError("reason")
    return _json({**_label(record, task), "fraud_speaker": record["fraud_speaker"], "reason": reason})


# ---- the format ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskFormat:
    """How records are prompted and answered (see the module docstring); validated on creation."""

    prompt: str = "reference"
    system_prompt: str | None = None
    separator: str = ""
    answer: str = "is_fraud"
    task: str = DEFAULT_TASK  # a fraudft.task TASKS name: what the answer predicts

    def __post_init__(self):
        if self.prompt not in PROMPTS:
            raise ValueError(PROMPTS.unknown_message(self.prompt, option="prompt"))
        if self.task not in TASKS:
            raise ValueError(TASKS.unknown_message(self.task, option="task"))
        if self.answer not in ANSWERS:
            raise ValueError(ANSWERS.unknown_message(self.answer, option="answer"))
        task = TASKS[self.task]
        if self.answer not in task.answers or ANSWERS[self.answer].fields[0] != task.answer_key:
            raise ValueError(f"answer: got {self.answer!r}, expected one of task {self.task}'s answers "
                             f"{', '.join(task.answers)}")
        if not isinstance(self.separator, str):
            raise ValueError(f"separator: got {self.separator!r}, expected a string")
        if self.system_prompt is not None and not isinstance(self.system_prompt, str):
            raise ValueError(f"system_prompt: got {self.system_prompt!r}, expected a string or None")
        if self.system_prompt is not None and self.prompt == "reference":
            raise ValueError("system_prompt: the reference prompt has its own, expected none "
                             "(or prompt chat_template)")

    def to_dict(self) -> dict:
        """The format as an object; `task` only when it is not the default (see the module docstring)."""
        out = asdict(self)
        if out["task"] == DEFAULT_TASK:
            del out["task"]
        return out

    @classmethod
    def from_dict(cls, data) -> "TaskFormat":
        """A format from to_dict's object (no `task`: the default); ValueError naming an unknown key
        or a bad value."""
        if not isinstance(data, dict):
            raise ValueError(f"format: got {type(data).__name__}, expected an object")
        unknown = set(data) - {"prompt", "system_prompt", "separator", "answer", "task"}
        if unknown:
            raise ValueError(f"format: unknown key(s) {', '.join(sorted(unknown))}, expected some of "
                             "prompt, system_prompt, separator, answer, task")
        return cls(**data)

    @property
    def task_spec(self) -> Task:
        """The registered task this format's answer predicts (fraudft.task)."""
        return TASKS[self.task]

    @property
    def fields(self) -> tuple[str, ...]:
        """The answer's JSON keys, the task's answer_key (is_fraud) first."""
        return ANSWERS[self.answer].fields

    def prompt_text(self, tokenizer, instruction: str, dialogue: str) -> str:
        """The prompt string around instruction + separator + dialogue, ending where the answer starts."""
        return PROMPTS[self.prompt].render(tokenizer, self, instruction + self.separator + dialogue)

    def terminator(self, tokenizer) -> int:
        """The token id that ends every answer (the prompt's choice, see the module docstring)."""
        return PROMPTS[self.prompt].terminator(tokenizer)

    def answer_text(self, record: dict) -> str:
        """The answer's JSON text for a record; DataError naming the missing field of the record."""
        try:
            return ANSWERS[self.answer].text(record, self.task_spec)
        except KeyError as err:
            where = record.get("input", "")[:30]
            raise DataError("record", f"input {where!r}", err.args[0],
                            f"missing, expected a string: answer {self.answer} trains it") from None

    def check_records(self, records: list[dict], source: str, training: bool = True) -> None:
        """When `training`: DataError (`FILE:LINE: field`, `FILE: item N: field` or `FILE: row N:
        field` where `source` is the records' file, else `source: record N: field`) on the first record
        lacking a field the answer trains (a record without `reason` under is_fraud_speaker_reason; no
        silent empty answer). Evaluation needs no such field: score mode reads is_fraud alone, and the
        three-field metrics count the records that have one. Either way, a DataWarning, once, when
        instructions ask for fields the answer does not give."""
        if training:
            for i, record in enumerate(records, 1):
                for field in self.fields[1:]:
                    if not isinstance(record.get(field), str):
                        raise DataError(source, _place(source, i), field, f"got {record.get(field)!r}, expected a "
                                        f"string: answer {self.answer} trains it")
        untrained = [f for f in ("fraud_speaker", "reason") if f not in self.fields]
        asking = [(i, r) for i, r in enumerate(records, 1) if any(f in r.get("instruction", "") for f in untrained)]
        if asking:
            i, record = asking[0]
            advice = ("use --answer is_fraud_speaker_reason to train them" if training else
                      "the model's answer does not give them")
            warnings.warn(
                f"{source}: {len(asking)} of {len(records)} instructions ask for "
                f"{' or '.join(f for f in untrained if f in record['instruction'])} but answer {self.answer} has "
                f"only {', '.join(self.fields)} (e.g. record {i}: {record['instruction'][:80]!r}); {advice}",
                DataWarning, stacklevel=2)


def _place(source: str, n: int) -> int | str:
    """How DataError names the n-th record of `source`: its line in a JSONL file (a blank line is an
    error there, so record n is line n), "item n" / "row n" in other files, "record n" otherwise."""
    from pathlib import Path

    from fraudft.data.loading import place_word

    try:
        word = place_word(source) if Path(source).is_file() else "record"
    except Exception:  # noqa: BLE001  a source whose format can't be told: name the record by its number
        word = "record"
    return n if word == "line" else f"{word} {n}"


def answer_token_budget(encoder, records: list[dict]) -> int:
    """Generate mode's max_new_tokens: the longest answer of `records` in tokens (terminator
    included), as `encoder` (fraudft.modeling.encode.Encoder) encodes it, plus ANSWER_MARGIN."""
    return max(len(encoder.answer_ids(r)) for r in records) + ANSWER_MARGIN


SAVED_FORMAT = "fraudft_format.json"  # written beside the adapter by `fraudft train`


def save_format(folder, fmt: TaskFormat, max_new_tokens: int, max_length: int | None = None) -> None:
    """Write the format an adapter was trained with, generate mode's max_new_tokens sized from its
    longest trained answer (answer_token_budget) and the max_length (tokens) it was trained at, to
    folder/SAVED_FORMAT."""
    from pathlib import Path

    saved = {"format": fmt.to_dict(), "max_new_tokens": max_new_tokens, "max_length": max_length}
    (Path(folder) / SAVED_FORMAT).write_text(jsonio.dumps(saved, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def saved_max_length(folder) -> int | None:
    """The max_length an adapter was trained at (save_format), or None when not saved."""
    from pathlib import Path

    path = Path(folder) / SAVED_FORMAT
    if not path.exists():
        return None
    value = json.loads(path.read_text(encoding="utf-8")).get("max_length")
    return value if isinstance(value, int) and value > 0 else None


def read_saved_format(folder) -> tuple[TaskFormat, int] | None:
    """(format, max_new_tokens) saved with an adapter, or None when the folder has none (an adapter
    trained before formats were saved: the default format). UsageError naming the file if unreadable."""
    from pathlib import Path

    path = Path(folder) / SAVED_FORMAT
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        budget = data["max_new_tokens"]
        if not isinstance(budget, int) or budget < 1:
            raise ValueError(f"max_new_tokens: got {budget!r}, expected a positive integer")
        return TaskFormat.from_dict(data["format"]), budget
    except (OSError, KeyError, TypeError, ValueError) as err:
        raise UsageError(f"{path}: {err}, expected the JSON that `fraudft train` writes") from None

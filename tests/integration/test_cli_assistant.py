"""`returndesk assistant classify | eval | train`, in process, with the real offline model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from returndesk.adapters.nlu.model import IntentClassifier, LinearIntents
from returndesk.cli.main import app
from returndesk.domain.assistant.intents import INTENTS

ROWS = [
    ("Where is my parcel? I ordered a week ago", "en", "track_order"),
    ("Quiero devolver estas zapatillas, me quedan pequeñas", "es", "return_request"),
    ("Meu reembolso ainda não caiu na conta", "pt-BR", "refund_status"),
    ("届いた商品が壊れていました", "ja", "damaged_item"),
    ("Wie koppele ich die Kopfhörer mit meinem Handy?", "de", "product_usage_help"),
    ("Quel temps fera-t-il demain à Lyon ?", "fr", "other"),
    ("我要找人工客服", "zh", "talk_to_human"),
]


def write_csv(path: Path, header: list[str], rows: list[tuple[str, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_classify_writes_language_intent_and_confidence_per_row(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", ["text"], [(t,) for t, _, _ in ROWS])
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["assistant", "classify", "--in", str(source), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    assert [r["text"] for r in written] == [t for t, _, _ in ROWS]
    assert [r["lang"] for r in written] == [lang for _, lang, _ in ROWS]
    assert all(r["intent"] in INTENTS and 0 < float(r["confidence"]) <= 1 for r in written)
    right = sum(r["intent"] == intent for r, (_, _, intent) in zip(written, ROWS, strict=True))
    assert right >= 6, written


def test_eval_reports_scores_per_language_and_latency(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "gold.csv", ["text", "lang", "target_intent"], ROWS)
    report_file = tmp_path / "report.json"
    result = CliRunner().invoke(
        app, ["assistant", "eval", "--data", str(data), "--json", str(report_file)]
    )
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.output
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["overall"]["n"] == len(ROWS)
    assert set(report["per_language"]) == {lang for _, lang, _ in ROWS}
    assert 0.7 <= report["overall"]["accuracy"] <= 1.0
    assert report["latency_ms"]["p50"] > 0
    assert report["overall"]["oos_recall"] is not None


def test_a_file_without_a_text_column_is_refused(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", ["message"], [("hello",)])
    result = CliRunner().invoke(
        app, ["assistant", "classify", "--in", str(bad), "--out", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 2
    assert not (tmp_path / "o.csv").exists()


def test_train_builds_a_loadable_model_from_the_given_folders(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "hint3").mkdir(parents=True)
    rows = []
    phrases = {
        "track_order": ["where is my order {n}", "track package {n}", "order {n} status?"],
        "return_request": [
            "I want to return item {n}",
            "how do I send back {n}",
            "start a return for {n}",
        ],
        "other": ["what is the weather {n}", "tell me joke number {n}", "play song {n}"],
    }
    for intent, templates in phrases.items():
        for template in templates:
            for n in range(12):
                rows.append((f"h{len(rows)}", "bot", template.format(n=n), "en", "X", intent))
    write_csv(
        shared / "hint3" / "hint3_train.csv",
        ["id", "bot", "text", "lang", "source_label", "target_intent"],
        rows,
    )
    handwritten = tmp_path / "handwritten"
    handwritten.mkdir()
    write_csv(
        handwritten / "es.csv",
        ["text", "lang", "target_intent"],
        [("¿dónde está mi pedido?", "es", "track_order")],
    )
    out = tmp_path / "model.npz"
    result = CliRunner().invoke(
        app,
        [
            "assistant",
            "train",
            "--shared",
            str(shared),
            "--handwritten",
            str(handwritten),
            "--out",
            str(out),
            "--cache",
            str(tmp_path / "cache.npz"),
        ],
    )
    assert result.exit_code == 0, result.output
    model = LinearIntents.load(out)
    assert set(model.intents) == set(phrases)
    assert model.meta["train_rows"]["handwritten/es"] == 1
    got = IntentClassifier(model).understand("where is my order 99?")
    assert got.intent == "track_order"


def test_train_without_data_says_where_it_looked(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "assistant",
            "train",
            "--shared",
            str(tmp_path / "none"),
            "--out",
            str(tmp_path / "m.npz"),
        ],
    )
    assert result.exit_code == 2
    assert "no shared intent data" in result.output
    assert not (tmp_path / "m.npz").exists()

"""`returndesk assistant train | classify | eval`: the offline intent model from the shell."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from returndesk.adapters.nlu import corpus
from returndesk.adapters.nlu.evaluation import Scored, percentile, report
from returndesk.adapters.nlu.model import DEFAULT_MODEL, IntentClassifier, LinearIntents
from returndesk.domain.assistant.intents import INTENTS

assistant_app = typer.Typer(help="The assistant's intent model.", no_args_is_help=True)
console = Console(stderr=True)

ModelOption = Annotated[Path, typer.Option("--model", help="the model artefact (.npz)")]


def _classifier(model: Path) -> IntentClassifier:
    try:
        return IntentClassifier(LinearIntents.load(model))
    except (OSError, ValueError, KeyError) as exc:
        console.print(f"[red]cannot load the model {model}: {exc}[/red]")
        raise typer.Exit(2) from None


def _read_rows(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "text" not in reader.fieldnames:
                console.print(f"[red]{path} has no 'text' column[/red]")
                raise typer.Exit(2)
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        console.print(f"[red]cannot read {path}: {exc}[/red]")
        raise typer.Exit(2) from None


@assistant_app.command("train")
def train(
    shared: Annotated[Path, typer.Option(help="the shared intent data folder")] = (
        corpus.DEFAULT_SHARED
    ),
    handwritten: Annotated[Path, typer.Option(help="the project's own examples")] = (
        corpus.DEFAULT_HANDWRITTEN
    ),
    out: Annotated[Path, typer.Option(help="where to write the model")] = DEFAULT_MODEL,
    cache: Annotated[Path, typer.Option(help="embedding cache")] = Path(
        "var/cache/nlu-embeddings.npz"
    ),
) -> None:
    """Rebuild the intent model from the shared data and the project's examples."""
    from returndesk.adapters.nlu.model import E5Embedder
    from returndesk.adapters.nlu.training import EmbeddingCache, fit

    try:
        data = corpus.load(shared, handwritten)
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if not data.train:
        console.print("[red]no training rows found[/red]")
        raise typer.Exit(2)
    embeddings = EmbeddingCache(cache, E5Embedder())
    with Progress(console=console) as progress:
        task = progress.add_task("embedding", total=len(data.train))
        model = fit(data, embeddings, lambda n: progress.advance(task, n))
    model.save(out)
    rows = len(data.train)
    console.print(
        f"wrote {out}: {len(model.intents)} intents from {rows} rows "
        f"({len(data.held_out)} held out for evaluation)"
    )


@assistant_app.command("classify")
def classify(
    in_file: Annotated[Path, typer.Option("--in", help="CSV with a 'text' column")],
    out_file: Annotated[Path, typer.Option("--out", help="CSV to write")],
    model: ModelOption = DEFAULT_MODEL,
    batch: Annotated[int, typer.Option(min=1, max=1024)] = 64,
) -> None:
    """Write text, lang, intent, confidence for every row."""
    rows = _read_rows(in_file)
    classifier = _classifier(model)
    with (
        out_file.open("w", newline="", encoding="utf-8") as handle,
        Progress(console=console) as progress,
    ):
        writer = csv.writer(handle)
        writer.writerow(["text", "lang", "intent", "confidence"])
        task = progress.add_task("classifying", total=len(rows))
        for start in range(0, len(rows), batch):
            texts = [r.get("text") or "" for r in rows[start : start + batch]]
            for text, result in zip(texts, classifier.understand_many(texts), strict=True):
                writer.writerow([text, result.language, result.intent, f"{result.confidence:.4f}"])
            progress.advance(task, len(texts))
    console.print(f"wrote {len(rows)} rows to {out_file}")


def evaluate_rows(classifier: IntentClassifier, rows: list[dict[str, str]]) -> dict[str, Any]:
    """Classify each row alone (as the assistant does), timing each one."""
    scored: list[Scored] = []
    latencies: list[float] = []
    for row in rows:
        gold = (row.get("target_intent") or row.get("intent") or "").strip()
        if gold not in INTENTS:
            continue
        started = time.perf_counter()
        understood = classifier.understand(row.get("text") or "")
        latencies.append((time.perf_counter() - started) * 1000)
        scored.append(
            Scored(
                gold,
                understood.intent,
                (row.get("lang") or "").strip(),
                (row.get("dataset") or "").strip(),
            )
        )
    result = report(scored)
    result["latency_ms"] = {
        "p50": round(percentile(latencies, 50), 2),
        "p99": round(percentile(latencies, 99), 2),
    }
    result["model"] = classifier.version
    return result


@assistant_app.command("eval")
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="CSV: text, target_intent[, lang]")],
    model: ModelOption = DEFAULT_MODEL,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write JSON here")] = None,
) -> None:
    """Macro-F1, accuracy, per-intent and per-language scores, out-of-scope, latency."""
    rows = _read_rows(data)
    result = evaluate_rows(_classifier(model), rows)
    if not result["overall"]["n"]:
        console.print("[red]no row has a known target_intent[/red]")
        raise typer.Exit(2)
    out = Console()
    table = Table(title=f"{data.name}: {result['model']}")
    for column in ("slice", "n", "macro-F1", "accuracy", "OOS precision", "OOS recall"):
        table.add_column(column)
    slices = [("overall", result["overall"])] + [
        (f"lang {k}", v) for k, v in result["per_language"].items()
    ]
    for name, s in slices:
        table.add_row(
            name,
            str(s["n"]),
            f"{s['macro_f1']:.3f}",
            f"{s['accuracy']:.3f}",
            str(s["oos_precision"]),
            str(s["oos_recall"]),
        )
    out.print(table)
    intents = Table(title="per intent")
    for column in ("intent", "precision", "recall", "F1", "support"):
        intents.add_column(column)
    for name, s in result["per_intent"].items():
        intents.add_row(
            name, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", str(s["support"])
        )
    out.print(intents)
    latency = result["latency_ms"]
    out.print(f"latency per message: p50 {latency['p50']} ms, p99 {latency['p99']} ms")
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if json_out:
        json_out.write_text(text + "\n", encoding="utf-8")
    else:
        out.print_json(text)

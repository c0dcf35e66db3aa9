"""The extraction benchmark measures the extraction the evaluator scores:
its Rasd extractor (Kafka records built once, outside the timing) must give
exactly the evaluation set's results, page by page."""
from ingest.evaluation import evaluate_dir
from ingest.settings import Settings
from rasd.bench_extract import rasd_extractor
from rasd.extract_cli import run_eval, shipped_set


def test_the_benchmarks_rasd_extractor_scores_like_rasd_eval_extraction():
    extractor = rasd_extractor(Settings().min_article_chars)
    # twice: the second pass reads the records it built in the first
    for _ in range(2):
        bench = evaluate_dir(shipped_set(), extractor)
        assert bench.totals == run_eval(shipped_set(), min_chars=Settings().min_article_chars).totals
    assert bench.totals.f1 == 1.0 and bench.totals.leaked_lines == 0

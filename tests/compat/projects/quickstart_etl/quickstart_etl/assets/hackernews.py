import json
from collections import Counter
from pathlib import Path

from trellis import AssetExecutionContext, MaterializeResult, MetadataValue, asset

STORIES = Path(__file__).resolve().parents[1] / "data" / "topstories.json"


@asset(group_name="hackernews", compute_kind="HackerNews API")
def hackernews_topstory_ids() -> list[int]:
    """The ids of the current top stories (bundled here; the original calls the API)."""
    return [story["id"] for story in json.loads(STORIES.read_text())]


@asset(group_name="hackernews", compute_kind="HackerNews API")
def hackernews_topstories(
    context: AssetExecutionContext, hackernews_topstory_ids: list[int]
) -> list[dict]:
    """The top stories themselves."""
    by_id = {story["id"]: story for story in json.loads(STORIES.read_text())}
    results = [by_id[i] for i in hackernews_topstory_ids]
    context.add_output_metadata({"num_records": len(results)})
    return results


@asset(group_name="hackernews", compute_kind="Plot")
def hackernews_topstories_word_cloud(hackernews_topstories: list[dict]) -> MaterializeResult:
    """The most frequent words in the top stories' titles."""
    words = Counter(
        word.lower().strip(".,:!?")
        for story in hackernews_topstories
        for word in story["title"].split()
        if len(word) > 3
    )
    top = dict(words.most_common(5))
    return MaterializeResult(metadata={"top_words": MetadataValue.json(top)})

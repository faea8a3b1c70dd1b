"""A /metrics answer read with prometheus-client's own parser."""

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict:
    """{(sample name, sorted labels): value} of one scrape's text."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(figures: dict, name: str, **labels) -> float:
    """A sample of `samples`, 0 when the scrape has none (a counter not yet counted)."""
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)

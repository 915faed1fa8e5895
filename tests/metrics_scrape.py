"""Reading ``/metrics`` as Prometheus would: parsed by prometheus_client's own parser."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Scrape:
    families: dict[str, Metric]

    @classmethod
    def of(cls, text: str) -> Scrape:
        return cls({family.name: family for family in text_string_to_metric_families(text)})

    def value(self, sample: str, **labels: str) -> float:
        """The one sample of that name with exactly these labels; 0 when there is none
        (a counter or histogram series not yet observed)."""
        family = self.families[_family_of(sample)]
        found = [s.value for s in family.samples if s.name == sample and s.labels == labels]
        assert len(found) <= 1, f"{len(found)} samples {sample} {labels}"
        return found[0] if found else 0.0

    def label_values(self, family: str, label: str) -> set[str]:
        return {s.labels[label] for s in self.families[family].samples if label in s.labels}


def _family_of(sample: str) -> str:
    for suffix in ("_bucket", "_count", "_sum", "_total"):
        if sample.endswith(suffix):
            return sample.removesuffix(suffix)
    return sample

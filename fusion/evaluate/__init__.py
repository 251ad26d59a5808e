"""What a job produces and how it is scored: outcomes, token overlap, fluency, the search
objective, composite and strict metrics, judges and grader agreement."""

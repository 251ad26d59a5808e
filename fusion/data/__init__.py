"""The questions: SimpleQA from the packaged wheel or a CSV, index files, selection and shards."""

"""Knowledge: collections of documents, their indexing, and retrieval for grounded turns."""

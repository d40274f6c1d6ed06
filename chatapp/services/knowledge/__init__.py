"""Knowledge: collections of documents, their indexing, and retrieval for grounded turns.

Views and commands use :mod:`.collections` and :mod:`.documents`; indexing runs as the
``index_document`` background job (:mod:`.indexing`, on :mod:`chatapp.services.jobs`).
"""

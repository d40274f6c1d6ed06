"""Business rules shared by the API, the pages, the CLI and the tests."""

"""Chat: turns with the model, conversations, their context, stops and personalities."""

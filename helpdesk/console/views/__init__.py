"""Console views, split by concern: auth, inbox, conversation, actions, preferences."""

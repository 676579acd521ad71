"""Text: WordPiece tokenisation, sentence splitting, parts of speech."""

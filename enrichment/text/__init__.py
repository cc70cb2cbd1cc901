"""Plain-text analysis for the offline enricher: markup, language, keyphrases, to-dos."""

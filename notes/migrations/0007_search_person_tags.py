# Search and the tag filter follow the person's tags (Note.tags) instead of the enrichment's:
# the trigger indexes Note.tags, and the GIN index on the enrichment's tags goes (the tag
# filter uses note_person_tags_idx).

from django.db import migrations

FORWARD_SQL = [
    """
    CREATE OR REPLACE FUNCTION notes_note_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector :=
            setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A')
            || setweight(to_tsvector('english', coalesce(NEW.enrichment_data ->> 'title', '')), 'A')
            || setweight(to_tsvector('english', array_to_string(NEW.tags, ' ')), 'B')
            || setweight(to_tsvector('english', coalesce(NEW.enrichment_data ->> 'summary', '')), 'B')
            || setweight(to_tsvector('english', left(NEW.content, 262144)), 'C');
        RETURN NEW;
    END
    $$;
    """,
    "DROP TRIGGER IF EXISTS notes_note_search_vector_update ON notes_note;",
    """
    CREATE TRIGGER notes_note_search_vector_update
    BEFORE INSERT OR UPDATE OF title, content, enrichment_data, tags, search_vector ON notes_note
    FOR EACH ROW EXECUTE FUNCTION notes_note_search_vector();
    """,
    # Only tagged notes index differently now.
    "UPDATE notes_note SET title = title WHERE tags <> '{}';",
    "DROP INDEX IF EXISTS note_tags_idx;",
]

REVERSE_SQL = [
    "CREATE INDEX IF NOT EXISTS note_tags_idx ON notes_note "
    "USING gin ((enrichment_data -> 'tags') jsonb_path_ops);",
    "DROP TRIGGER IF EXISTS notes_note_search_vector_update ON notes_note;",
    """
    CREATE TRIGGER notes_note_search_vector_update
    BEFORE INSERT OR UPDATE OF title, content, enrichment_data, search_vector ON notes_note
    FOR EACH ROW EXECUTE FUNCTION notes_note_search_vector();
    """,
]


class Migration(migrations.Migration):
    dependencies = [
        ("notes", "0006_person_tags_and_preferences"),
    ]

    operations = [migrations.RunSQL(FORWARD_SQL, REVERSE_SQL)]

"""Forms of the people's pages. Validation lives on the model fields (notes.validators),
so the admin refuses the same input; the form adds what only a person's form needs."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.core.validators import ProhibitNullCharactersValidator
from django.template.defaultfilters import filesizeformat

from notes.tags import normalise_tag, normalise_tags

from . import languages
from .models import Note, Preferences
from .status import ProcessingStatus
from .validators import validate_not_blank


class TagsField(forms.CharField):
    """Tags typed as "one, two, three": normalised, duplicates dropped."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        return normalise_tags((super().to_python(value) or "").split(","))


class NoteForm(forms.ModelForm):
    tags = TagsField(help_text="Separated by commas. Suggested tags are added after you save.")

    class Meta:
        model = Note
        fields = ["title", "content", "tags", "skip_enrichment"]
        widgets = {
            "title": forms.TextInput(attrs={"placeholder": "Leave blank for a suggested title"}),
            "content": forms.Textarea(attrs={"rows": 14, "data-submit-shortcut": ""}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            # The model's validate_characters says where the character is and covers
            # every control character; Django's generic NUL check would pre-empt it.
            field.validators = [
                v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)
            ]
        content = self.fields["content"]
        # Keep what was typed exactly: leading indentation and trailing lines are content.
        content.strip = False
        content.error_messages["required"] = "Write something: a note cannot be empty."
        content.help_text = (
            f"Markdown, up to {filesizeformat(settings.NOTE_MAX_LENGTH)}: **bold**, [links](…), "
            "- [ ] tasks, tables, ``` code. Ctrl+Enter saves. "
            "A title, summary and tags are suggested after you save."
        )

    def clean_content(self):
        content = self.cleaned_data["content"]
        # Before the model's own blank check, whose wording is less helpful.
        validate_not_blank(content)
        return content


class SignUpForm(UserCreationForm):
    """Never says whether a username is taken: that would tell anyone which accounts
    exist. The sign-up view answers the same way for a taken name and a free one."""

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)

    def clean_username(self):
        return self.cleaned_data.get("username")

    def validate_unique(self):
        pass  # the view checks, without telling


class NoteFilterForm(forms.Form):
    """The list's search box and filters, read from the query string."""

    q = forms.CharField(required=False, label="Search", max_length=200, strip=True)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status"), *ProcessingStatus.choices],
    )
    tag = forms.CharField(required=False, max_length=40, strip=True)


class PreferencesForm(forms.ModelForm):
    enrichment_language = forms.ChoiceField(
        label="Language of titles, summaries and tags",
        required=False,
        choices=lambda: [("", "The note's own language"), *languages.choices()],
    )

    class Meta:
        model = Preferences
        fields = ["enrichment_language", "never_send_external", "auto_apply_suggestions"]


class TagRenameForm(forms.Form):
    old = forms.CharField(label="Tag", max_length=200)
    new = forms.CharField(
        label="New name",
        max_length=200,
        help_text="An existing tag's name merges the two.",
    )

    def clean_old(self):
        return self._tag("old")

    def clean_new(self):
        return self._tag("new")

    def _tag(self, name):
        tag = normalise_tag(self.cleaned_data[name])
        if not tag:
            raise forms.ValidationError("A tag needs at least one letter or digit.")
        return tag

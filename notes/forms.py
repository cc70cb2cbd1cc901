"""Forms of the people's pages. Validation lives on the model fields (notes.validators),
so the admin refuses the same input; the form adds what only a person's form needs."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.core.validators import ProhibitNullCharactersValidator
from django.template.defaultfilters import filesizeformat

from .models import Note
from .status import ProcessingStatus
from .validators import validate_not_blank


class NoteForm(forms.ModelForm):
    class Meta:
        model = Note
        fields = ["title", "content"]
        widgets = {
            "title": forms.TextInput(attrs={"placeholder": "Leave blank for a suggested title"}),
            "content": forms.Textarea(attrs={"rows": 14}),
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
            f"Plain text, up to {filesizeformat(settings.NOTE_MAX_LENGTH)}. "
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

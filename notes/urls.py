from django.urls import path

from . import views

app_name = "notes"

urlpatterns = [
    path("", views.NoteListView.as_view(), name="list"),
    path("new/", views.NoteCreateView.as_view(), name="create"),
    path("status/", views.NoteListStatusView.as_view(), name="list_status"),
    path("<int:pk>/", views.NoteDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.NoteEditView.as_view(), name="edit"),
    path("<int:pk>/delete/", views.NoteDeleteView.as_view(), name="delete"),
    path("<int:pk>/reprocess/", views.NoteReprocessView.as_view(), name="reprocess"),
    path("<int:pk>/status/", views.NoteStatusView.as_view(), name="status"),
    path("<int:pk>/tasks/", views.NoteTasksView.as_view(), name="tasks"),
    path("<int:pk>/tags/", views.NoteTagsView.as_view(), name="tags_of_note"),
    path("tags/", views.TagListView.as_view(), name="tags"),
    path("settings/", views.PreferencesView.as_view(), name="preferences"),
]

from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("groups/<int:group_id>/", views.group_detail, name="group"),
    path("groups/<int:group_id>/docs/<path:path>", views.doc_image, name="doc_image"),
]

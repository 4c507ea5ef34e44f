from django.urls import path

from logs import views

app_name = "logs"

urlpatterns = [
    path("logs/", views.log_list, name="list"),
    path("logs/<uuid:execution_id>/", views.log_detail, name="detail"),
]

from django.urls import path

from execution import views

app_name = "execution"

urlpatterns = [
    path("interfaces/<str:token>/", views.interface_page, name="interface"),
    path("interfaces/<str:token>/closed", views.interface_tab_closed, name="interface_closed"),
]

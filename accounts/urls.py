from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("preferences/", views.preferences_view, name="preferences"),
    path("profile/", views.profile_view, name="profile"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
]

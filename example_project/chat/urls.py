from django.urls import path

from chat import views

urlpatterns = [
    path("", views.chat_list, name="chat-list"),
    path("chats/<int:pk>/", views.chat_detail, name="chat-detail"),
    path("deliveries/", views.delivery_log, name="delivery-log"),
]

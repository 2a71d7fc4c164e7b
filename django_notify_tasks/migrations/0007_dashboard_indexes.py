# The dashboard's indexes. Named 0006 on purpose: 0005 is taken by another branch; the
# dependency is set to 0005 when the branches are merged.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('django_notify_tasks', '0006_delivery_content'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(fields=['created_at', 'channel', 'status'], name='notify_tasks_d_created_idx'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(fields=['status', 'created_at'], name='notify_tasks_d_st_created_idx'),
        ),
    ]

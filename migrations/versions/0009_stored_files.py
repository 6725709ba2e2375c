"""uploaded files in the database

Uploads are kept in PostgreSQL (``stored_files``, bytes in 1 MiB ``stored_file_parts``), one
copy per content within an organization, instead of under the web app's MEDIA_ROOT. The files
of existing uploads are copied in (read and written a part at a time) and their documents lose
their ``file_path``; the files themselves are left where they are, to be removed by hand once
the upgrade is committed. A file already missing is reported and its document left as it was.

The downgrade writes the bytes back to ``MEDIA_ROOT/<organization id>/<document id><ext>``
(MEDIA_ROOT from the Flask app running it, else the environment) and drops the tables.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:00:00.000000

"""
import hashlib
import logging
import os
from pathlib import Path

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

PART_SIZE = 1024 * 1024
EXTENSIONS = {
    'application/pdf': '.pdf',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document': '.docx',
    'text/html': '.html',
    'text/markdown': '.md',
    'text/csv': '.csv',
    'text/plain': '.txt',
}
log = logging.getLogger('alembic.runtime.migration')


def upgrade():
    op.create_table('stored_files',
    sa.Column('organization_id', sa.String(length=64), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('organization_id', 'content_hash', name=op.f('pk_stored_files'))
    )
    op.create_table('stored_file_parts',
    sa.Column('organization_id', sa.String(length=64), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id', 'content_hash'], ['stored_files.organization_id', 'stored_files.content_hash'], name=op.f('fk_stored_file_parts_organization_id_stored_files'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', 'content_hash', 'number', name=op.f('pk_stored_file_parts'))
    )
    move_uploads_in(op.get_bind())


def downgrade():
    connection = op.get_bind()
    write_uploads_out(connection)
    op.drop_table('stored_file_parts')
    op.drop_table('stored_files')


def move_uploads_in(connection):
    uploads = connection.execute(sa.text(
        "SELECT d.id, d.organization_id, d.file_path FROM documents d "
        "JOIN document_uploads u ON u.document_id = d.id WHERE d.file_path IS NOT NULL"
    )).all()
    for document_id, organization, file_path in uploads:
        path = Path(file_path)
        try:
            digest, size = file_hash(path)
            store_file(connection, organization, digest, size, path)
        except OSError as error:
            log.warning('document %s: %s is not readable (%s), left as it was',
                        document_id, path, error.strerror or error)
            continue
        connection.execute(
            sa.text("UPDATE documents SET file_path = NULL, content_hash = :digest WHERE id = :id"),
            {'digest': digest, 'id': document_id},
        )
    if uploads:
        log.info('copied the files of %d uploaded documents into the database', len(uploads))


def file_hash(path):
    digest, size = hashlib.sha256(), 0
    with path.open('rb') as file:
        while part := file.read(PART_SIZE):
            digest.update(part)
            size += len(part)
    return digest.hexdigest(), size


def store_file(connection, organization, digest, size, path):
    new = connection.execute(
        sa.text(
            "INSERT INTO stored_files (organization_id, content_hash, size) "
            "VALUES (:organization, :digest, :size) ON CONFLICT DO NOTHING RETURNING size"
        ),
        {'organization': organization, 'digest': digest, 'size': size},
    ).first()
    if new is None:
        return
    insert_part = sa.text(
        "INSERT INTO stored_file_parts (organization_id, content_hash, number, data) "
        "VALUES (:organization, :digest, :number, :data)"
    ).bindparams(sa.bindparam('data', type_=sa.LargeBinary()))
    with path.open('rb') as file:
        number = 0
        while part := file.read(PART_SIZE):
            connection.execute(insert_part, {
                'organization': organization, 'digest': digest, 'number': number, 'data': part,
            })
            number += 1


def write_uploads_out(connection):
    stored = connection.execute(sa.text(
        "SELECT d.id, d.organization_id, d.content_hash, d.content_type, u.organization_id "
        "FROM documents d JOIN document_uploads u ON u.document_id = d.id "
        "JOIN stored_files s ON s.organization_id = d.organization_id "
        "AND s.content_hash = d.content_hash WHERE d.file_path IS NULL"
    )).all()
    if not stored:
        return
    root = media_root()
    read_part = sa.text(
        "SELECT data FROM stored_file_parts WHERE organization_id = :organization "
        "AND content_hash = :digest AND number = :number"
    )
    for document_id, organization, digest, content_type, upload_organization in stored:
        folder = root / str(upload_organization)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{document_id}{EXTENSIONS.get(content_type, '')}"
        with path.open('wb') as file:
            number = 0
            while (part := connection.execute(read_part, {
                'organization': organization, 'digest': digest, 'number': number,
            }).scalar()) is not None:
                file.write(part)
                number += 1
        connection.execute(
            sa.text("UPDATE documents SET file_path = :path WHERE id = :id"),
            {'path': str(path), 'id': document_id},
        )


def media_root():
    try:
        from flask import current_app

        configured = current_app.config.get('MEDIA_ROOT')
    except (ImportError, RuntimeError):
        configured = None
    configured = configured or os.environ.get('MEDIA_ROOT')
    if not configured:
        raise RuntimeError(
            'set MEDIA_ROOT to the folder the uploaded files should be written back to'
        )
    return Path(configured).resolve()

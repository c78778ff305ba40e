//! Adding and dropping one column, the shape of most migrations after the first.

use sea_orm_migration::prelude::*;

/// Adds `column` to `table`.
pub async fn add<T: IntoIden, C: IntoColumnDef>(
    m: &SchemaManager<'_>,
    table: T,
    column: C,
) -> Result<(), DbErr> {
    m.alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}

/// Drops `column` from `table`.
pub async fn drop<T: IntoIden, C: IntoIden>(
    m: &SchemaManager<'_>,
    table: T,
    column: C,
) -> Result<(), DbErr> {
    m.alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
}

{#- Masking of personal data (contact names, phones, e-mails) in the marts analysts read (issue 14). The raw
    values stay in staging (stg_crm__contacts, stg_crm__account_managers), which on PostgreSQL only the pipeline
    role reads. Portable: DuckDB, PostgreSQL and Spark SQL give the same text. -#}

{#- A name as its first character and two stars: 张伟 -> 张**, Li Na -> L** (the surname of a Chinese name,
    the initial of a Latin one); null or blank stays null. -#}
{% macro mask_name(expr) -%}
    case when nullif(trim({{ expr }}), '') is null then null
         else {{ dbt.concat(["substring(trim(" ~ expr ~ "), 1, 1)", "'**'"]) }} end
{%- endmacro %}

{#- An e-mail as a pseudonym: `mail:` and the first 12 hex digits of the MD5 of the trimmed, lower-cased
    address. The same address gives the same pseudonym on every engine (a join key, not a way back); it is
    not anonymous against someone who can guess the address. -#}
{% macro mask_email(expr) -%}
    case when nullif(trim({{ expr }}), '') is null then null
         else {{ dbt.concat(["'mail:'", "substring(" ~ dbt.hash("lower(trim(" ~ expr ~ "))") ~ ", 1, 12)"]) }} end
{%- endmacro %}

{#- A phone number as its last four digits behind stars: 13812345678 -> *******5678 (what a caller needs to
    tell two numbers of one contact apart); fewer than 7 digits are all hidden. -#}
{% macro mask_phone(expr) -%}
    case when {{ digits_only(expr) }} is null or length({{ digits_only(expr) }}) < 7 then
              case when {{ expr }} is null then null else '****' end
         else {{ dbt.concat(["'*******'", "right(" ~ digits_only(expr) ~ ", 4)"]) }} end
{%- endmacro %}

{% macro digits_only(expr) -%}
    {{ return(adapter.dispatch('digits_only', 'lodestar')(expr)) }}
{%- endmacro %}

{% macro default__digits_only(expr) -%}
    regexp_replace({{ expr }}, '[^0-9]', '', 'g')
{%- endmacro %}

{#- Spark's regexp_replace replaces every match and takes no flags. -#}
{% macro spark__digits_only(expr) -%}
    regexp_replace({{ expr }}, '[^0-9]', '')
{%- endmacro %}

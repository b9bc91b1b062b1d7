/*
 * kam-gen: deterministic synthetic book of accounts for benchmarking kam.
 *
 *   kam-gen --scale S --seed N --out DIR [--today YYYY-MM-DD]
 *
 * Writes one CSV per collection into DIR (teams, staff, clients, contracts,
 * projects, spend, invoices, payments, opportunities, activities), field
 * names as in config/schema.yaml, UTF-8, RFC 4180 quoting, explicit ids.
 * At S=1: 1,000 clients and 100,000 invoices spread over the 24 months
 * (730 days) before --today (default: today's local date).
 *
 * Same scale/seed/today => byte-identical output.  Every row draws from
 * its own splitmix64 stream keyed by (seed, collection, row), so output
 * does not depend on iteration order.  Floating point uses only + - * /
 * (own exp, no libm), which is exact IEEE arithmetic.
 *
 * Plain C11 + libc (POSIX mkdir).  Build:
 *   cc -O2 -std=c11 -Wall -Wextra -o kam-gen bench/gen.c
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ rng */

static uint64_t g_seed;

static inline uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct { uint64_t s; } Rng;

enum { T_STAFF = 1, T_CLIENT, T_CONTRACT, T_PROJECT, T_SPEND, T_INVOICE,
       T_OPP, T_ACT };

static inline Rng rng_for(uint64_t tag, uint64_t idx)
{
    Rng r;
    r.s = mix64(mix64(g_seed ^ (tag * 0xd6e8feb86659fd93ULL)) ^ (idx * 0xd1b54a32d192ed03ULL));
    return r;
}

static inline uint64_t nx(Rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* uniform in [0, n), n < 2^32 */
static inline uint32_t rn(Rng *r, uint32_t n)
{
    return (uint32_t)(((nx(r) >> 32) * (uint64_t)n) >> 32);
}

/* uniform in [lo, hi] */
static inline int32_t rb(Rng *r, int32_t lo, int32_t hi)
{
    return lo + (int32_t)rn(r, (uint32_t)(hi - lo + 1));
}

/* uniform double in [0,1) */
static inline double ru(Rng *r)
{
    return (double)(nx(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* approx. standard normal: Irwin-Hall of eight 16-bit uniforms (|x| < 4.9) */
static inline double rnorm(Rng *r)
{
    uint64_t a = nx(r), b = nx(r);
    uint32_t s = (uint32_t)(a & 0xffff) + (uint32_t)((a >> 16) & 0xffff) +
                 (uint32_t)((a >> 32) & 0xffff) + (uint32_t)(a >> 48) +
                 (uint32_t)(b & 0xffff) + (uint32_t)((b >> 16) & 0xffff) +
                 (uint32_t)((b >> 32) & 0xffff) + (uint32_t)(b >> 48);
    return ((double)s * (1.0 / 65536.0) - 4.0) * 1.224744871391589;
}

/* pick index by integer weights */
static inline int rpick(Rng *r, const uint16_t *w, int n)
{
    uint32_t tot = 0;
    for (int i = 0; i < n; i++) tot += w[i];
    uint32_t x = rn(r, tot);
    for (int i = 0; i < n; i++) {
        if (x < w[i]) return i;
        x -= w[i];
    }
    return n - 1;
}

/* exp without libm: range reduction + Taylor series */
static double xexp(double x)
{
    if (x > 700.0) x = 700.0;
    if (x < -700.0) return 0.0;
    double kf = x * 1.4426950408889634;
    int64_t k = (int64_t)(kf >= 0 ? kf + 0.5 : kf - 0.5);
    double r = x - (double)k * 0.6931471805599453;
    double term = 1.0, sum = 1.0;
    for (int i = 1; i < 16; i++) {
        term = term * r / (double)i;
        sum += term;
    }
    uint64_t bits = (uint64_t)(k + 1023) << 52;
    double p;
    memcpy(&p, &bits, sizeof p);
    return sum * p;
}

static inline uint64_t round_to(double x, uint64_t unit)
{
    if (x < 0) x = 0;
    return (uint64_t)(x / (double)unit + 0.5) * unit;
}

/* ---------------------------------------------------------------- dates */

static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int32_t z, int *py, int *pm, int *pd)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int y = yoe + era * 400;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    int d = doy - (153 * mp + 2) / 5 + 1;
    int m = mp + (mp < 10 ? 3 : -9);
    *py = y + (m <= 2);
    *pm = m;
    *pd = d;
}

/* 0 = Sunday ... 6 = Saturday */
static inline int weekday(int32_t z) { return (int)(((z % 7) + 11) % 7); }

static void fmt_date(char *out, int32_t z)
{
    int y, m, d;
    civil_from_days(z, &y, &m, &d);
    if (y < 0) y = 0;
    if (y > 9999) y = 9999;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
}

static int32_t g_today;
static char *g_dcache;
static int32_t g_dbase, g_dcount;

static void date_cache_init(void)
{
    g_dbase = g_today - 6000;
    g_dcount = 8000;
    g_dcache = malloc((size_t)g_dcount * 10);
    if (!g_dcache) { perror("malloc"); exit(1); }
    for (int32_t i = 0; i < g_dcount; i++) fmt_date(g_dcache + (size_t)i * 10, g_dbase + i);
}

static int year_of(int32_t z)
{
    int y, m, d;
    civil_from_days(z, &y, &m, &d);
    return y;
}

/* ------------------------------------------------------------ csv output */

#define OBUF ((size_t)8 << 20)
#define OSLACK ((size_t)16384)

typedef struct {
    FILE *f;
    char *buf;
    size_t pos;
    uint64_t rows;
    char name[64];
    char path[4096];
} Out;

static void o_flush(Out *o)
{
    if (o->pos && fwrite(o->buf, 1, o->pos, o->f) != o->pos) {
        fprintf(stderr, "kam-gen: write %s: %s\n", o->path, strerror(errno));
        exit(1);
    }
    o->pos = 0;
}

static void o_open(Out *o, const char *dir, const char *name, const char *header)
{
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s.csv", name);
    snprintf(o->path, sizeof o->path, "%s/%s.csv", dir, name);
    o->f = fopen(o->path, "wb");
    if (!o->f) {
        fprintf(stderr, "kam-gen: open %s: %s\n", o->path, strerror(errno));
        exit(1);
    }
    setvbuf(o->f, NULL, _IONBF, 0);
    o->buf = malloc(OBUF);
    if (!o->buf) { perror("malloc"); exit(1); }
    size_t n = strlen(header);
    memcpy(o->buf, header, n);
    o->buf[n] = '\n';
    o->pos = n + 1;
}

static void o_close(Out *o)
{
    o_flush(o);
    if (fclose(o->f) != 0) {
        fprintf(stderr, "kam-gen: close %s: %s\n", o->path, strerror(errno));
        exit(1);
    }
    free(o->buf);
    printf("%s %llu rows\n", o->name, (unsigned long long)o->rows);
    fflush(stdout);
}

static inline void o_c(Out *o, char c) { o->buf[o->pos++] = c; }
static inline void o_sep(Out *o) { o->buf[o->pos++] = ','; }

static inline void o_raw(Out *o, const char *s, size_t n)
{
    memcpy(o->buf + o->pos, s, n);
    o->pos += n;
}

/* unquoted: only for strings known to need no quoting (enums, ascii) */
static inline void o_s(Out *o, const char *s) { o_raw(o, s, strlen(s)); }

/* RFC 4180: quote when the field holds , " CR or LF; double inner quotes */
static void o_q(Out *o, const char *s)
{
    size_t n = strlen(s);
    if (n > 4096) n = 4096;
    if (strcspn(s, ",\"\r\n") >= n) {
        o_raw(o, s, n);
        return;
    }
    o_c(o, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') o_c(o, '"');
        o_c(o, s[i]);
    }
    o_c(o, '"');
}

static inline void o_u(Out *o, uint64_t v)
{
    char t[24];
    int i = 24;
    do { t[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    o_raw(o, t + i, (size_t)(24 - i));
}

/* one decimal: v in tenths */
static inline void o_d1(Out *o, uint32_t tenths)
{
    o_u(o, tenths / 10);
    o_c(o, '.');
    o_c(o, (char)('0' + tenths % 10));
}

/* two decimals: v in hundredths */
static inline void o_d2(Out *o, uint32_t h)
{
    o_u(o, h / 100);
    o_c(o, '.');
    o_c(o, (char)('0' + h / 10 % 10));
    o_c(o, (char)('0' + h % 10));
}

static inline void o_date(Out *o, int32_t z)
{
    int32_t k = z - g_dbase;
    if (k >= 0 && k < g_dcount) {
        o_raw(o, g_dcache + (size_t)k * 10, 10);
    } else {
        fmt_date(o->buf + o->pos, z);
        o->pos += 10;
    }
}

static inline void o_end(Out *o)
{
    o->buf[o->pos++] = '\n';
    o->rows++;
    if (o->pos > OBUF - OSLACK) o_flush(o);
}

/* ids */
typedef struct { const char *prefix; int plen; int width; } IdFmt;

static IdFmt ID_TM = {"TM-", 3, 2}, ID_ST = {"ST-", 3, 4}, ID_CL = {"CL-", 3, 6},
             ID_HD = {"HD-", 3, 6}, ID_PRJ = {"PRJ-", 4, 6}, ID_SP = {"SP-", 3, 7},
             ID_INV = {"INV-", 4, 8}, ID_PAY = {"PAY-", 4, 8}, ID_OP = {"OP-", 3, 6},
             ID_AC = {"AC-", 3, 7};

static int ndigits(uint64_t v)
{
    int n = 1;
    while (v >= 10) { v /= 10; n++; }
    return n;
}

static void id_width(IdFmt *f, uint64_t count)
{
    int d = ndigits(count);
    if (d > f->width) f->width = d;
}

/* n is 0-based; ids are 1-based */
static inline void o_id(Out *o, const IdFmt *f, uint64_t n)
{
    n += 1;
    o_raw(o, f->prefix, (size_t)f->plen);
    char *p = o->buf + o->pos;
    for (int i = f->width - 1; i >= 0; i--) { p[i] = (char)('0' + n % 10); n /= 10; }
    o->pos += (size_t)f->width;
}

/* ----------------------------------------------------------- vocabulary */

static const char *TEAM_KIND[8] = {"Account", "Creative", "Media", "Ops", "Production",
                                   "Affiliate", "Finance", "Leadership"};
static const char *TEAM_NAME[8] = {"Phòng Khách hàng", "Phòng Sáng tạo", "Phòng Truyền thông, Media",
                                   "Phòng Vận hành", "Phòng Sản xuất", "Phòng Tiếp thị liên kết",
                                   "Phòng Tài chính - Kế toán", "Ban Giám đốc"};
enum { TM_ACCOUNT, TM_CREATIVE, TM_MEDIA, TM_OPS, TM_PRODUCTION, TM_AFFILIATE, TM_FINANCE,
       TM_LEADERSHIP };

static const char *ROLE[] = {"account_executive", "account_manager", "key_account_manager",
                             "team_lead", "director", "ceo", "finance", "admin", "creative",
                             "media", "ops", "production", "affiliate"};
enum { R_AE, R_AM, R_KAM, R_LEAD, R_DIRECTOR, R_CEO, R_FINANCE, R_ADMIN, R_CREATIVE, R_MEDIA,
       R_OPS, R_PRODUCTION, R_AFFILIATE };

static const char *STAFF_STATUS[] = {"active", "leave", "left"};

static const struct { const char *vn, *ini; uint16_t w; } FAMILY[] = {
    {"Nguyễn", "n", 32}, {"Trần", "t", 11}, {"Lê", "l", 9}, {"Phạm", "p", 7}, {"Hoàng", "h", 5},
    {"Huỳnh", "h", 4}, {"Phan", "p", 4}, {"Vũ", "v", 4}, {"Võ", "v", 4}, {"Đặng", "d", 2},
    {"Bùi", "b", 2}, {"Đỗ", "d", 2}, {"Hồ", "h", 2}, {"Ngô", "n", 2}, {"Dương", "d", 2},
    {"Lý", "l", 1}};
static const struct { const char *vn, *ini; } MIDDLE[] = {
    {"Văn", "v"}, {"Thị", "t"}, {"Minh", "m"}, {"Thu", "t"}, {"Ngọc", "n"}, {"Hữu", "h"},
    {"Đức", "d"}, {"Thanh", "t"}, {"Quốc", "q"}, {"Hoàng", "h"}, {"Gia", "g"}, {"Bảo", "b"},
    {"Thùy", "t"}, {"Xuân", "x"}};
static const struct { const char *vn, *ascii; } GIVEN[] = {
    {"An", "an"}, {"Anh", "anh"}, {"Bình", "binh"}, {"Chi", "chi"}, {"Dũng", "dung"},
    {"Giang", "giang"}, {"Hà", "ha"}, {"Hải", "hai"}, {"Hạnh", "hanh"}, {"Hiếu", "hieu"},
    {"Hoa", "hoa"}, {"Hùng", "hung"}, {"Huy", "huy"}, {"Khánh", "khanh"}, {"Lan", "lan"},
    {"Linh", "linh"}, {"Long", "long"}, {"Mai", "mai"}, {"Minh", "minh"}, {"Nam", "nam"},
    {"Ngọc", "ngoc"}, {"Nhung", "nhung"}, {"Phong", "phong"}, {"Phúc", "phuc"},
    {"Phương", "phuong"}, {"Quân", "quan"}, {"Quang", "quang"}, {"Sơn", "son"},
    {"Tâm", "tam"}, {"Thảo", "thao"}, {"Trang", "trang"}, {"Trung", "trung"},
    {"Tuấn", "tuan"}, {"Vy", "vy"}, {"Yến", "yen"}, {"Đạt", "dat"}, {"Đức", "duc"},
    {"Thủy", "thuy"}};

static const char *INDUSTRY[] = {"FMCG", "cosmetics", "electronics", "fashion", "F&B",
                                 "finance", "healthcare", "retail", "travel", "education",
                                 "technology", "automotive", "real_estate", "other"};
static const uint16_t INDUSTRY_W[] = {16, 12, 7, 10, 12, 6, 6, 9, 4, 5, 6, 3, 3, 1};
static const char *SECTOR[] = {"Hàng tiêu dùng", "Mỹ phẩm", "Điện tử", "Thời trang",
                               "Thực phẩm và Đồ uống", "Tài chính", "Dược phẩm", "Bán lẻ",
                               "Du lịch", "Giáo dục", "Công nghệ", "Ô tô", "Bất động sản",
                               "Thương mại"};
static const char *FORM[] = {"Công ty TNHH", "Công ty Cổ phần", "Công ty TNHH MTV", "Tập đoàn",
                             "Công ty TNHH Thương mại"};
static const uint16_t FORM_W[] = {40, 35, 10, 5, 10};
static const char *BRAND[] = {"Ánh Dương", "Hoàng Gia", "Phú Thịnh", "Sao Mai", "Bình Minh",
                              "Hưng Thịnh", "Việt Tiến", "Kim Long", "An Phát", "Thành Công",
                              "Đại Việt", "Hoa Sen", "Trường Sơn", "Phương Nam", "Đông Á",
                              "Tân Phú", "Minh Long", "Thiên Long", "Hải Âu", "Rạng Đông",
                              "Sông Hồng", "Cửu Long", "Lạc Hồng", "Hồng Hà", "Phúc Lộc",
                              "Vạn Xuân", "Tràng An", "Ngọc Lan", "Bảo Tín", "Đất Việt",
                              "Sài Gòn Xanh", "Hà Thành"};
static const char *CITY[] = {"TP. Hồ Chí Minh", "Hà Nội", "Đà Nẵng", "Hải Phòng", "Cần Thơ",
                             "Bình Dương", "Đồng Nai", "Khánh Hòa", "Thừa Thiên Huế",
                             "Quảng Ninh"};
static const uint16_t CITY_W[] = {40, 35, 6, 4, 3, 4, 3, 2, 1, 2};
static const char *OBJECTIVE[] = {"Tăng nhận diện thương hiệu", "Tăng doanh số kênh TMĐT",
                                  "Ra mắt sản phẩm mới", "Mở rộng thị trường miền Bắc",
                                  "Tối ưu chi phí quảng cáo, tăng ROAS",
                                  "Xây dựng cộng đồng khách hàng trung thành",
                                  "Tăng lượt tải ứng dụng", ""};
static const char *CLIENT_STATUS[] = {"prospect", "active", "paused", "churned"};
enum { CS_PROSPECT, CS_ACTIVE, CS_PAUSED, CS_CHURNED };
static const char *TIER[] = {"A", "B", "C", "D"};

static const char *CONTRACT_STATUS[] = {"draft", "active", "completed", "terminated"};
enum { KS_DRAFT, KS_ACTIVE, KS_COMPLETED, KS_TERMINATED };
static const char *PROJECT_KIND[] = {"campaign", "retainer", "ecommerce_ops", "affiliate_program",
                                     "production"};
static const uint16_t PROJECT_KIND_W[] = {35, 30, 15, 10, 10};
static const char *PROJECT_KIND_VN[] = {"Chiến dịch", "Retainer", "Vận hành TMĐT",
                                        "Tiếp thị liên kết", "Sản xuất nội dung"};
static const char *CONTRACT_TITLE[] = {"Hợp đồng chiến dịch marketing",
                                       "Hợp đồng dịch vụ marketing tích hợp",
                                       "Hợp đồng vận hành gian hàng TMĐT",
                                       "Hợp đồng tiếp thị liên kết",
                                       "Hợp đồng sản xuất nội dung"};
static const char *PROJECT_STATUS[] = {"planned", "running", "done", "cancelled"};
enum { PS_PLANNED, PS_RUNNING, PS_DONE, PS_CANCELLED };

static const char *SPEND_CAT[] = {"media", "production", "creative", "affiliate", "ops", "other"};
static const uint16_t SPEND_CAT_W[] = {45, 15, 15, 10, 10, 5};
static const char *SPEND_LINE[] = {"L1", "L3", "L2", "L4", "L5", "L6"};
static const char *VENDOR[6][4] = {
    {"Meta Platforms Ireland Ltd.", "Google Asia Pacific Pte. Ltd.", "TikTok Pte. Ltd.",
     "Công ty Cổ phần VCCorp"},
    {"Công ty TNHH Sản xuất Phim Ánh Sáng", "Studio Mây Trắng",
     "Công ty TNHH In ấn Minh Khai, Chi nhánh 2", "Công ty TNHH Sự kiện Sao Việt"},
    {"Studio \"Hạt Tiêu\"", "Freelancer - Nguyễn Thu Hà", "Công ty TNHH Thiết kế Mộc",
     "Agency Lá Xanh"},
    {"AccessTrade Việt Nam", "Ecomobi", "Shopee Affiliate", "Lazada Affiliate"},
    {"Giao Hàng Nhanh", "Viettel Post", "Kho vận Tân Cảng", "Công ty TNHH Fulfillment Sài Gòn"},
    {"Văn phòng phẩm Hồng Hà", "Công ty TNHH Dịch vụ Tổng hợp, Hà Nội", "Chi phí khác",
     "Grab for Business"}};
static const char *SPEND_STATUS[] = {"recorded", "held", "approved", "rejected"};

static const char *INV_STATUS[] = {"draft", "issued", "paid", "overdue", "disputed"};
enum { IS_DRAFT, IS_ISSUED, IS_PAID, IS_OVERDUE, IS_DISPUTED };
static const char *PAY_METHOD[] = {"bank_transfer", "cash", "card", "offset"};
static const uint16_t PAY_METHOD_W[] = {90, 3, 3, 4};

static const char *OPP_KIND[] = {"new", "upsell", "cross_sell", "renewal", "scope_expansion"};
static const uint16_t OPP_KIND_W[] = {5, 30, 25, 25, 15};
static const char *OPP_STAGE[] = {"lead", "qualified", "proposal", "negotiation", "won", "lost"};
static const uint16_t OPP_STAGE_W[] = {20, 20, 20, 10, 18, 12};
static const uint16_t OPP_PROB[] = {10, 25, 50, 75, 100, 0};

static const char *ACT_KIND[] = {"meeting", "call", "qbr", "email", "workshop", "visit"};
static const uint16_t ACT_KIND_W[] = {25, 25, 5, 30, 8, 7};
static const char *ACT_NOTES[] = {"Họp định kỳ, rà soát KPI tháng", "Gửi báo cáo hiệu quả chiến dịch",
                                  "Trao đổi brief mới, ngân sách quý tới",
                                  "Khách hàng phản hồi về mẫu thiết kế",
                                  "Đánh giá kết quả quý, đề xuất kế hoạch tiếp theo",
                                  "Khách hàng hỏi về báo giá \"gói TMĐT\"", "", ""};
static const char *ACT_NEXT[] = {"Gửi đề xuất", "Chốt ngân sách", "Cập nhật báo cáo",
                                 "Hẹn lịch QBR", "Gửi báo giá, chờ phản hồi", "", ""};

/* --------------------------------------------------------------- model */

typedef struct {
    uint8_t role, team, status, given, family, middle, level, capacity;
    int32_t hire;
    int32_t manager; /* -1: none */
} Staff;

typedef struct {
    double f;     /* size factor: multiplies median invoice amount */
    double w;     /* invoicing weight (0 for prospects) */
    uint64_t annual_budget;
    uint64_t value[2], budget[2];
    int32_t start[2], end[2];
    int32_t lo, hi;             /* invoice window (inclusive) */
    int32_t act_lo, act_hi;     /* activity window */
    int32_t first_eng, last_eng;
    int32_t parent;             /* -1 none */
    uint32_t owner;
    uint16_t progress[2];       /* hundredths */
    uint8_t kind[2], kstatus[2], pstatus[2];
    uint8_t status, tier, industry, team, strategic, badpay, newc, dpay;
    uint8_t form, brand, brand2, city, variant, objective, csat, branch;
} Client;

static double g_scale;
static uint64_t nC, nInv, nStaff;
static Staff *S;
static Client *C;
static uint32_t *kam_pool, *am_pool;
static uint32_t n_kam, n_am;
static int32_t team_lead[8];

static void build_staff(void)
{
    S = calloc(nStaff, sizeof *S);
    kam_pool = malloc(nStaff * sizeof *kam_pool);
    am_pool = malloc(nStaff * sizeof *am_pool);
    if (!S || !kam_pool || !am_pool) { perror("malloc"); exit(1); }

    static const uint8_t fixed_role[9] = {R_CEO, R_DIRECTOR, R_LEAD, R_LEAD, R_LEAD, R_LEAD,
                                          R_LEAD, R_AFFILIATE, R_LEAD};
    static const uint8_t fixed_team[9] = {TM_LEADERSHIP, TM_LEADERSHIP, TM_ACCOUNT, TM_CREATIVE,
                                          TM_MEDIA, TM_OPS, TM_PRODUCTION, TM_AFFILIATE,
                                          TM_FINANCE};
    /* pattern of 20 for the rest */
    static const uint8_t pattern[20] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                        TM_CREATIVE, TM_CREATIVE, TM_CREATIVE, TM_MEDIA, TM_MEDIA,
                                        TM_MEDIA, TM_OPS, TM_PRODUCTION, TM_AFFILIATE, TM_FINANCE};
    /* teams.lead; Affiliate has none (left empty on purpose) */
    team_lead[TM_ACCOUNT] = 2; team_lead[TM_CREATIVE] = 3; team_lead[TM_MEDIA] = 4;
    team_lead[TM_OPS] = 5; team_lead[TM_PRODUCTION] = 6; team_lead[TM_AFFILIATE] = -1;
    team_lead[TM_FINANCE] = 8; team_lead[TM_LEADERSHIP] = 0;

    uint64_t acct = 0, fin = 0;
    int32_t group_kam = 2;
    uint16_t fam_w[NELEM(FAMILY)];
    for (size_t i = 0; i < NELEM(FAMILY); i++) fam_w[i] = FAMILY[i].w;

    for (uint64_t i = 0; i < nStaff; i++) {
        Rng r = rng_for(T_STAFF, i);
        Staff *s = &S[i];
        s->family = (uint8_t)rpick(&r, fam_w, (int)NELEM(FAMILY));
        s->middle = (uint8_t)rn(&r, NELEM(MIDDLE));
        s->given = (uint8_t)rn(&r, NELEM(GIVEN));
        int forced_active = 0;
        if (i < 9) {
            s->role = fixed_role[i];
            s->team = fixed_team[i];
            s->manager = i == 0 ? -1 : (i == 1 ? 0 : 1);
            s->hire = g_today - rb(&r, 6 * 365, 10 * 365);
            forced_active = 1;
        } else {
            s->team = pattern[(i - 9) % 20];
            s->hire = g_today - rb(&r, 20, 8 * 365);
            switch (s->team) {
            case TM_ACCOUNT: {
                uint64_t g = acct % 10;
                if (g == 0) {
                    s->role = R_KAM;
                    s->manager = team_lead[TM_ACCOUNT];
                    group_kam = (int32_t)i;
                    forced_active = 1;
                } else {
                    s->role = g <= 3 ? R_AM : R_AE;
                    s->manager = group_kam;
                }
                if (acct < 10) forced_active = 1;
                acct++;
                break;
            }
            case TM_CREATIVE: s->role = R_CREATIVE; break;
            case TM_MEDIA: s->role = R_MEDIA; break;
            case TM_OPS: s->role = R_OPS; break;
            case TM_PRODUCTION: s->role = R_PRODUCTION; break;
            case TM_AFFILIATE: s->role = R_AFFILIATE; break;
            case TM_FINANCE: s->role = (fin++ % 3 == 2) ? R_ADMIN : R_FINANCE; break;
            default: s->role = R_OPS; break;
            }
            if (s->team != TM_ACCOUNT)
                s->manager = team_lead[s->team] >= 0 ? team_lead[s->team] : 1;
        }
        uint32_t st = rn(&r, 1000);
        s->status = forced_active ? 0 : (st < 50 ? 2 : st < 80 ? 1 : 0);
        switch (s->role) {
        case R_CEO: s->level = 7; break;
        case R_DIRECTOR: s->level = 6; break;
        case R_LEAD: s->level = 5; break;
        case R_KAM: s->level = 4; break;
        case R_AM: s->level = 3; break;
        case R_AE: s->level = (uint8_t)rb(&r, 1, 2); break;
        default: s->level = (uint8_t)rb(&r, 1, 4); break;
        }
        s->capacity = (uint8_t)(s->role <= R_KAM ? rb(&r, 6, 12) : rb(&r, 7, 9));
        if (s->status == 0) {
            if (s->role == R_KAM) kam_pool[n_kam++] = (uint32_t)i;
            if (s->role == R_AM || s->role == R_AE) am_pool[n_am++] = (uint32_t)i;
        }
    }
    if (n_kam == 0) { memcpy(kam_pool, am_pool, n_am * sizeof *am_pool); n_kam = n_am; }
    if (n_am == 0) { memcpy(am_pool, kam_pool, n_kam * sizeof *kam_pool); n_am = n_kam; }
    if (n_am == 0) { fprintf(stderr, "kam-gen: no account staff\n"); exit(1); }
}

#define MEDIAN_AMOUNT 20e6
#define AMOUNT_SIGMA 0.6
#define MIN_AMOUNT 5000000.0
#define MAX_AMOUNT 2000000000.0
#define NACT 10

static void act_dates(uint64_t c, int32_t *d);

static void build_clients(void)
{
    C = calloc(nC, sizeof *C);
    if (!C) { perror("malloc"); exit(1); }
    uint16_t form_w[NELEM(FORM_W)], city_w[NELEM(CITY_W)], ind_w[NELEM(INDUSTRY_W)];
    memcpy(form_w, FORM_W, sizeof form_w);
    memcpy(city_w, CITY_W, sizeof city_w);
    memcpy(ind_w, INDUSTRY_W, sizeof ind_w);
    const int32_t T = g_today;

    for (uint64_t i = 0; i < nC; i++) {
        Rng r = rng_for(T_CLIENT, i);
        Client *c = &C[i];
        double z = rnorm(&r);
        c->f = xexp(1.0 * z);
        double wz = 0.7 * z + 0.4 * rnorm(&r);
        uint32_t st = rn(&r, 1000);
        uint32_t nw = rn(&r, 1000);
        c->newc = 0;
        if (i == 0) c->status = CS_ACTIVE;
        else if (st < 30) c->status = CS_PROSPECT;
        else if (st < 80) c->status = CS_CHURNED;
        else if (st < 140) c->status = CS_PAUSED;
        else c->status = CS_ACTIVE;
        if (i != 0 && c->status != CS_PROSPECT && nw < 150) c->newc = 1;
        if (c->newc && c->status == CS_CHURNED) c->status = CS_ACTIVE;

        c->tier = z > 1.28 ? 0 : z > 0.25 ? 1 : z > -0.6 ? 2 : 3;
        c->strategic = (c->status != CS_PROSPECT && z + 0.25 * rnorm(&r) > 1.9);
        c->badpay = rn(&r, 1000) < 50;
        c->dpay = (uint8_t)rb(&r, 15, 40);
        c->industry = (uint8_t)rpick(&r, ind_w, (int)NELEM(ind_w));
        c->form = (uint8_t)rpick(&r, form_w, (int)NELEM(form_w));
        c->brand = (uint8_t)rn(&r, NELEM(BRAND));
        c->brand2 = (uint8_t)rn(&r, NELEM(BRAND));
        c->city = (uint8_t)rpick(&r, city_w, (int)NELEM(city_w));
        uint32_t v = rn(&r, 1000);
        c->variant = v < 40 ? 1 : v < 50 ? 2 : 0; /* 1: comma, 2: quotes */
        c->branch = rn(&r, 100) < 30;
        c->objective = (uint8_t)rn(&r, NELEM(OBJECTIVE));
        uint32_t tm = rn(&r, 100);
        c->team = tm < 85 ? TM_ACCOUNT : tm < 93 ? TM_MEDIA : TM_AFFILIATE;
        c->parent = (i > 0 && rn(&r, 1000) < 20) ? (int32_t)rn(&r, (uint32_t)i) : -1;
        if (c->tier == 0 || c->strategic)
            c->owner = kam_pool[rn(&r, n_kam)];
        else
            c->owner = am_pool[rn(&r, n_am)];

        int csat = 30 + (int)rn(&r, 21) - (c->badpay ? (int)rn(&r, 10) : 0) -
                   (c->status == CS_CHURNED ? (int)rn(&r, 10) : 0);
        c->csat = (uint8_t)(csat < 25 ? 25 : csat > 50 ? 50 : csat);

        /* contracts A (older) and B (current) */
        if (c->status == CS_PROSPECT) {
            c->start[0] = T + rb(&r, 10, 60);
            c->end[0] = c->start[0] + 179;
            c->start[1] = c->end[0] + 1;
            c->end[1] = c->start[1] + 364;
            c->lo = T;
            c->hi = T - 1;
            c->act_lo = T - 120;
            c->act_hi = T - 1;
        } else if (c->newc) {
            c->start[0] = T - 181 - rb(&r, 0, 360);
            c->end[0] = c->start[0] + 179;
            c->start[1] = c->end[0] + 1;
            c->end[1] = c->start[1] + 364;
            c->lo = c->start[0];
            c->hi = T - 1;
        } else {
            c->start[0] = T - 730 - rb(&r, 0, 60);
            c->end[0] = c->start[0] + 364;
            c->start[1] = c->end[0] + 1;
            c->end[1] = c->start[1] + 364 + rb(&r, 60, 240);
            c->lo = T - 730;
            c->hi = T - 1;
        }
        int32_t pause = 0;
        if (c->status == CS_CHURNED) {
            int32_t churn = T - 30 - rb(&r, 0, 300);
            c->end[1] = churn;
            c->hi = churn;
        } else if (c->status == CS_PAUSED) {
            pause = T - rb(&r, 45, 150);
            if (pause < c->lo + 30) pause = c->lo + 30;
            if (pause > T - 1) pause = T - 1;
            c->hi = pause;
        }
        if (c->status != CS_PROSPECT) {
            c->act_lo = c->start[0] - 30 > T - 730 ? c->start[0] - 30 : T - 730;
            c->act_hi = c->status == CS_CHURNED ? c->hi
                      : c->status == CS_PAUSED ? (pause + 20 < T - 1 ? pause + 20 : T - 1)
                      : T - 1;
        }
        c->w = c->status == CS_PROSPECT ? 0.0 : xexp(wz);

        for (int k = 0; k < 2; k++) {
            Rng rk = rng_for(T_CONTRACT, 2 * i + (uint64_t)k);
            uint16_t pk_w[NELEM(PROJECT_KIND_W)];
            memcpy(pk_w, PROJECT_KIND_W, sizeof pk_w);
            c->kind[k] = (uint8_t)rpick(&rk, pk_w, (int)NELEM(pk_w));
            if (c->status == CS_PROSPECT) {
                c->kstatus[k] = KS_DRAFT;
                c->pstatus[k] = PS_PLANNED;
                c->progress[k] = 0;
            } else if (k == 0) {
                c->kstatus[k] = KS_COMPLETED;
                c->pstatus[k] = PS_DONE;
                c->progress[k] = 100;
            } else {
                int32_t len = c->end[1] - c->start[1];
                int32_t el = (c->status == CS_CHURNED ? c->end[1] : T) - c->start[1];
                int32_t p = len > 0 ? (int32_t)((int64_t)el * 100 / len) : 0;
                if (p < 1) p = 1;
                if (p > 99) p = 99;
                c->progress[k] = (uint16_t)p;
                c->kstatus[k] = c->status == CS_CHURNED ? KS_TERMINATED : KS_ACTIVE;
                c->pstatus[k] = c->status == CS_CHURNED ? PS_CANCELLED : PS_RUNNING;
            }
        }

        int32_t ad[NACT];
        act_dates(i, ad);
        c->last_eng = ad[NACT - 1];
        c->first_eng = c->status == CS_PROSPECT ? ad[0] : c->start[0] - rb(&r, 14, 120);
    }

    /* money that depends on expected invoicing */
    double W = 0;
    for (uint64_t i = 0; i < nC; i++) W += C[i].w;
    double wmean = nC ? W / (double)nC : 1.0;
    if (wmean <= 0) wmean = 1.0;
    double per_day = (double)nInv / 730.0; /* invoices per day, whole book */
    double mean_amt_k = MEDIAN_AMOUNT * xexp(AMOUNT_SIGMA * AMOUNT_SIGMA / 2);
    for (uint64_t i = 0; i < nC; i++) {
        Client *c = &C[i];
        Rng r = rng_for(T_CLIENT, i ^ 0x8000000000000000ULL);
        /* prospects: pretend weight of an average client */
        double w = c->w > 0 ? c->w : wmean;
        double rate = (W > 0 ? per_day * w / W : 0.1) * mean_amt_k * c->f; /* đồng/day */
        double ab = rate * 365.0 * (1.0 + 0.4 * ru(&r));
        c->annual_budget = round_to(ab, 1000000);
        if (c->annual_budget < 50000000) c->annual_budget = 50000000;
        for (int k = 0; k < 2; k++) {
            double days = (double)(c->end[k] - c->start[k] + 1);
            double val = rate * days * (1.0 + 0.2 * ru(&r));
            c->value[k] = round_to(val, 1000000);
            if (c->value[k] < 20000000) c->value[k] = 20000000;
            c->budget[k] = round_to((double)c->value[k] * (0.55 + 0.2 * ru(&r)), 1000000);
        }
    }
}

static void sort_days(int32_t *d, int n)
{
    for (int i = 1; i < n; i++) {
        int32_t v = d[i];
        int j = i - 1;
        while (j >= 0 && d[j] > v) { d[j + 1] = d[j]; j--; }
        d[j + 1] = v;
    }
}

/* activity dates of client c, sorted; first NACT draws of its stream */
static void act_dates(uint64_t c, int32_t *d)
{
    Rng r = rng_for(T_ACT, c);
    const Client *cl = &C[c];
    int32_t lo = cl->act_lo, hi = cl->act_hi;
    if (hi < lo) hi = lo;
    for (int k = 0; k < NACT; k++) d[k] = rb(&r, lo, hi);
    sort_days(d, NACT);
}

/* ------------------------------------------------------------- writers */

static void write_teams(const char *dir)
{
    Out o;
    o_open(&o, dir, "teams", "id,name,kind,lead");
    for (int t = 0; t < 8; t++) {
        o_id(&o, &ID_TM, (uint64_t)t); o_sep(&o);
        o_q(&o, TEAM_NAME[t]); o_sep(&o);
        o_s(&o, TEAM_KIND[t]); o_sep(&o);
        if (team_lead[t] >= 0 && (uint64_t)team_lead[t] < nStaff) o_id(&o, &ID_ST, (uint64_t)team_lead[t]);
        o_end(&o);
    }
    o_close(&o);
}

static void write_staff(const char *dir)
{
    Out o;
    /* each is sized to the book they own: rules/capacity.lua refuses an
     * owner past their capacity, and the generated clients are many */
    uint32_t *owned = calloc(nStaff + 1, sizeof *owned);
    for (uint64_t i = 0; i < nC; i++) if ((uint64_t)C[i].owner < nStaff) owned[C[i].owner]++;
    o_open(&o, dir, "staff", "id,name,role,team,manager,level,capacity,hire_date,status,os_user,email");
    for (uint64_t i = 0; i < nStaff; i++) {
        const Staff *s = &S[i];
        char user[64];
        snprintf(user, sizeof user, "%s%s%s%llu", GIVEN[s->given].ascii, FAMILY[s->family].ini,
                 MIDDLE[s->middle].ini, (unsigned long long)(i + 1));
        o_id(&o, &ID_ST, i); o_sep(&o);
        o_s(&o, FAMILY[s->family].vn); o_c(&o, ' ');
        o_s(&o, MIDDLE[s->middle].vn); o_c(&o, ' ');
        o_s(&o, GIVEN[s->given].vn); o_sep(&o);
        o_s(&o, ROLE[s->role]); o_sep(&o);
        o_id(&o, &ID_TM, s->team); o_sep(&o);
        if (s->manager >= 0) o_id(&o, &ID_ST, (uint64_t)s->manager);
        o_sep(&o);
        o_c(&o, 'L'); o_u(&o, s->level); o_sep(&o);
        o_u(&o, owned[i] > s->capacity ? owned[i] : s->capacity); o_sep(&o);
        o_date(&o, s->hire); o_sep(&o);
        o_s(&o, STAFF_STATUS[s->status]); o_sep(&o);
        o_s(&o, user); o_sep(&o);
        o_s(&o, user); o_s(&o, "@kam-agency.vn");
        o_end(&o);
    }
    o_close(&o);
    free(owned);
}

static void client_name(char *buf, size_t n, uint64_t i)
{
    const Client *c = &C[i];
    int w = ID_CL.width < 5 ? 5 : ID_CL.width;
    char num[24];
    uint64_t v = i + 1;
    num[w] = '\0';
    for (int k = w - 1; k >= 0; k--) { num[k] = (char)('0' + v % 10); v /= 10; }
    if (c->variant == 1)
        snprintf(buf, n, "%s %s, %s %s", FORM[c->form], BRAND[c->brand], BRAND[c->brand2], num);
    else if (c->variant == 2)
        snprintf(buf, n, "%s \"%s\" %s", FORM[c->form], BRAND[c->brand], num);
    else
        snprintf(buf, n, "%s %s %s %s", FORM[c->form], SECTOR[c->industry], BRAND[c->brand], num);
}

static void write_clients(const char *dir)
{
    Out o;
    o_open(&o, dir, "clients",
           "id,name,legal_name,tax_code,industry,status,tier,owner,team,annual_budget,strategic,"
           "parent,objective,timeline,csat,first_engaged,last_engaged,city");
    char name[512], legal[768], tmp[64];
    for (uint64_t i = 0; i < nC; i++) {
        const Client *c = &C[i];
        client_name(name, sizeof name, i);
        if (c->branch)
            snprintf(legal, sizeof legal, "%s, Chi nhánh %s", name, CITY[c->city]);
        else
            snprintf(legal, sizeof legal, "%s", name);
        o_id(&o, &ID_CL, i); o_sep(&o);
        o_q(&o, name); o_sep(&o);
        o_q(&o, legal); o_sep(&o);
        /* 10-digit tax code, unique: 7919 is prime and coprime with 10^8 */
        snprintf(tmp, sizeof tmp, "03%08llu",
                 (unsigned long long)((i * 7919ULL + 1234567ULL) % 100000000ULL));
        o_s(&o, tmp); o_sep(&o);
        o_s(&o, INDUSTRY[c->industry]); o_sep(&o);
        o_s(&o, CLIENT_STATUS[c->status]); o_sep(&o);
        o_s(&o, TIER[c->tier]); o_sep(&o);
        o_id(&o, &ID_ST, c->owner); o_sep(&o);
        o_id(&o, &ID_TM, c->team); o_sep(&o);
        o_u(&o, c->annual_budget); o_sep(&o);
        o_s(&o, c->strategic ? "true" : "false"); o_sep(&o);
        if (c->parent >= 0) o_id(&o, &ID_CL, (uint64_t)c->parent);
        o_sep(&o);
        o_q(&o, OBJECTIVE[c->objective]); o_sep(&o);
        {
            int y1, m1, d1, y2, m2, d2;
            civil_from_days(c->start[1], &y1, &m1, &d1);
            civil_from_days(c->end[1], &y2, &m2, &d2);
            snprintf(tmp, sizeof tmp, "%02d/%04d - %02d/%04d", m1, y1, m2, y2);
            o_s(&o, tmp); o_sep(&o);
        }
        if (c->status != CS_PROSPECT) o_d1(&o, c->csat);
        o_sep(&o);
        o_date(&o, c->first_eng); o_sep(&o);
        o_date(&o, c->last_eng); o_sep(&o);
        o_q(&o, CITY[c->city]);
        o_end(&o);
    }
    o_close(&o);
}

/* spend rows per project: 10, or --spend-per-project (the write guards' bench
 * imports 1M rows at scale 10 with 50) */
#define NSPEND_MAX 64
static int NSPEND = 10;
static int opt_lines = 1; /* contracts carry their lines (rules/spend_control.lua reads them); --lines 0: not */

static void write_contracts_projects(const char *dir)
{
    Out k, p;
    o_open(&k, dir, "contracts", opt_lines ? "id,client,title,value,currency,start,end,payment_terms,status,lines"
                                           : "id,client,title,value,currency,start,end,payment_terms,status");
    for (uint64_t i = 0; i < nC; i++) {
        const Client *c = &C[i];
        for (int j = 0; j < 2; j++) {
            o_id(&k, &ID_HD, 2 * i + (uint64_t)j); o_sep(&k);
            o_id(&k, &ID_CL, i); o_sep(&k);
            o_s(&k, CONTRACT_TITLE[c->kind[j]]); o_s(&k, " năm "); o_u(&k, (uint64_t)year_of(c->start[j])); o_sep(&k);
            o_u(&k, c->value[j]); o_sep(&k);
            o_s(&k, "VND"); o_sep(&k);
            o_date(&k, c->start[j]); o_sep(&k);
            o_date(&k, c->end[j]); o_sep(&k);
            o_s(&k, "30"); o_sep(&k);
            o_s(&k, CONTRACT_STATUS[c->kstatus[j]]);
            if (opt_lines) {
                /* a line per spend category, each with twice the project's budget:
                 * no generated spend goes past it (a held row would change the
                 * data the peers compare with), yet every row is checked */
                o_sep(&k);
                o_c(&k, '"'); o_c(&k, '[');
                for (int cat = 0; cat < (int)NELEM(SPEND_CAT); cat++) {
                    if (cat) o_c(&k, ',');
                    o_s(&k, "{\"\"line\"\":\"\""); o_s(&k, SPEND_LINE[cat]);
                    o_s(&k, "\"\",\"\"service\"\":\"\""); o_s(&k, SPEND_CAT[cat]);
                    o_s(&k, "\"\",\"\"budget\"\":");
                    o_u(&k, round_to((double)c->budget[j] * 2.0, 1000));
                    o_c(&k, '}');
                }
                o_c(&k, ']'); o_c(&k, '"');
            }
            o_end(&k);
        }
    }
    o_close(&k);

    o_open(&p, dir, "projects", "id,client,contract,name,kind,budget,start,end,status,progress,owner");
    for (uint64_t i = 0; i < nC; i++) {
        const Client *c = &C[i];
        for (int j = 0; j < 2; j++) {
            o_id(&p, &ID_PRJ, 2 * i + (uint64_t)j); o_sep(&p);
            o_id(&p, &ID_CL, i); o_sep(&p);
            o_id(&p, &ID_HD, 2 * i + (uint64_t)j); o_sep(&p);
            o_s(&p, PROJECT_KIND_VN[c->kind[j]]); o_c(&p, ' ');
            o_s(&p, BRAND[c->brand]); o_c(&p, ' ');
            o_u(&p, (uint64_t)year_of(c->start[j])); o_sep(&p);
            o_s(&p, PROJECT_KIND[c->kind[j]]); o_sep(&p);
            o_u(&p, c->budget[j]); o_sep(&p);
            o_date(&p, c->start[j]); o_sep(&p);
            o_date(&p, c->end[j]); o_sep(&p);
            o_s(&p, PROJECT_STATUS[c->pstatus[j]]); o_sep(&p);
            o_d2(&p, c->progress[j]); o_sep(&p);
            o_id(&p, &ID_ST, c->owner);
            o_end(&p);
        }
    }
    o_close(&p);
}


static void write_spend(const char *dir)
{
    Out o;
    o_open(&o, dir, "spend", "id,project,contract,contract_line,category,vendor,amount,date,budget_ref,status,flag");
    uint16_t cat_w[NELEM(SPEND_CAT_W)];
    memcpy(cat_w, SPEND_CAT_W, sizeof cat_w);
    const int32_t T = g_today;
    uint64_t id = 0;
    for (uint64_t pj = 0; pj < 2 * nC; pj++) {
        const Client *c = &C[pj / 2];
        int j = (int)(pj % 2);
        Rng r = rng_for(T_SPEND, pj);
        int32_t lo, hi;
        double frac;
        switch (c->pstatus[j]) {
        case PS_PLANNED: lo = T - 30; hi = T - 1; frac = 0.02; break;
        case PS_DONE: lo = c->start[j]; hi = c->end[j]; frac = 1.0; break;
        case PS_RUNNING: lo = c->start[j]; hi = T - 1; frac = c->progress[j] / 100.0; break;
        default: lo = c->start[j]; hi = c->end[j]; frac = c->progress[j] / 100.0; break;
        }
        if (hi < lo) hi = lo;
        int32_t d[NSPEND_MAX];
        for (int k = 0; k < NSPEND; k++) d[k] = rb(&r, lo, hi);
        sort_days(d, NSPEND);
        double per = (double)c->budget[j] * frac / NSPEND;
        for (int k = 0; k < NSPEND; k++, id++) {
            int cat = rpick(&r, cat_w, (int)NELEM(cat_w));
            double m = 0.6 + 0.8 * ru(&r);
            uint64_t amt = round_to(per * m, 1000);
            if (amt < 100000) amt = 100000;
            uint32_t s = rn(&r, 100);
            int st = c->pstatus[j] == PS_PLANNED ? 1 : s < 60 ? 0 : s < 95 ? 2 : s < 98 ? 1 : 3;
            o_id(&o, &ID_SP, id); o_sep(&o);
            o_id(&o, &ID_PRJ, pj); o_sep(&o);
            o_id(&o, &ID_HD, pj); o_sep(&o);
            o_s(&o, SPEND_LINE[cat]); o_sep(&o);
            o_s(&o, SPEND_CAT[cat]); o_sep(&o);
            o_q(&o, VENDOR[cat][rn(&r, 4)]); o_sep(&o);
            o_u(&o, amt); o_sep(&o);
            o_date(&o, d[k]); o_sep(&o);
            o_s(&o, "BG/"); o_id(&o, &ID_PRJ, pj); o_c(&o, '/'); o_s(&o, SPEND_LINE[cat]); o_sep(&o);
            o_s(&o, SPEND_STATUS[st]); o_sep(&o);
            if (m > 1.33) o_s(&o, "over_plan");
            o_end(&o);
        }
    }
    o_close(&o);
}

static const char *INV_NOTE_ANY[] = {"Thanh toán theo tiến độ, đợt 1", "Xuất hóa đơn theo nghiệm thu tháng",
                                     "Gộp chi phí \"media\" và phí dịch vụ"};

/* issue date of invoice i: monotone over the 730 days before today, weekdays only */
static inline int32_t issue_day(uint64_t i)
{
    const int32_t T = g_today, d0 = T - 730;
    int32_t d = d0 + (int32_t)((i * 730ULL) / nInv);
    int wd = weekday(d);
    if (wd == 6) d = (d - 1 >= d0) ? d - 1 : d + 2;      /* Sat -> Fri (or Mon) */
    else if (wd == 0) d = (d + 1 <= T - 1) ? d + 1 : d - 2; /* Sun -> Mon (or Fri) */
    return d;
}

static void write_invoices_payments(const char *dir)
{
    const int32_t T = g_today;
    /* Vose alias table over client weights */
    uint64_t *thr = malloc(nC * sizeof *thr);
    uint32_t *alias = malloc(nC * sizeof *alias);
    double *p = malloc(nC * sizeof *p);
    uint32_t *small = malloc(nC * sizeof *small), *large = malloc(nC * sizeof *large);
    if (!thr || !alias || !p || !small || !large) { perror("malloc"); exit(1); }
    double W = 0;
    for (uint64_t i = 0; i < nC; i++) W += C[i].w;
    uint64_t ns = 0, nl = 0;
    for (uint64_t i = 0; i < nC; i++) {
        p[i] = W > 0 ? C[i].w * (double)nC / W : 1.0;
        if (p[i] < 1.0) small[ns++] = (uint32_t)i; else large[nl++] = (uint32_t)i;
        alias[i] = 0;
    }
    while (ns && nl) {
        uint32_t s = small[--ns], l = large[--nl];
        thr[s] = (uint64_t)(p[s] * 4294967296.0);
        alias[s] = l;
        p[l] = (p[l] + p[s]) - 1.0;
        if (p[l] < 1.0) small[ns++] = l; else large[nl++] = l;
    }
    while (nl) { uint32_t l = large[--nl]; thr[l] = 1ULL << 32; }
    while (ns) { uint32_t s = small[--ns]; thr[s] = C[s].w > 0 ? 1ULL << 32 : 0; alias[s] = 0; }
    free(p); free(small); free(large);

    uint16_t pm_w[NELEM(PAY_METHOD_W)];
    memcpy(pm_w, PAY_METHOD_W, sizeof pm_w);

    Out o, q;
    o_open(&o, dir, "invoices", "id,client,contract,amount,tax,issued,due,status,paid_date,note");
    o_open(&q, dir, "payments", "id,invoice,amount,date,method");
    uint64_t pay = 0;
    for (uint64_t i = 0; i < nInv; i++) {
        Rng r = rng_for(T_INVOICE, i);
        int32_t d = issue_day(i);
        uint32_t c = 0;
        int ok = 0;
        for (int t = 0; t < 64; t++) {
            uint64_t x = nx(&r);
            uint32_t k = (uint32_t)(((x >> 32) * nC) >> 32);
            c = ((x & 0xffffffffULL) < thr[k]) ? k : alias[k];
            if (C[c].lo <= d && d <= C[c].hi) { ok = 1; break; }
        }
        if (!ok) c = 0; /* client 0 is active for the whole window */
        const Client *cl = &C[c];
        uint64_t kidx = 2ULL * c + (d >= cl->start[1] ? 1 : 0);

        double a = MEDIAN_AMOUNT * cl->f * xexp(AMOUNT_SIGMA * rnorm(&r));
        if (a < MIN_AMOUNT || a > MAX_AMOUNT) a = MEDIAN_AMOUNT * cl->f * xexp(AMOUNT_SIGMA * rnorm(&r));
        if (a < MIN_AMOUNT) a = MIN_AMOUNT;
        if (a > MAX_AMOUNT) a = MAX_AMOUNT;
        uint64_t amount = round_to(a, 1000);
        uint64_t tax = amount / 10;
        int32_t due = d + 30;

        int st;
        int32_t paid = 0;
        uint32_t u = rn(&r, 10000);
        if (due >= T) { /* not yet due */
            if (d >= T - 5 && u < 1000) st = IS_DRAFT;
            else if (u < 1050) st = IS_DISPUTED;
            else if (u < 3500 && d < T - 1) { st = IS_PAID; paid = rb(&r, d + 1, T - 1); }
            else st = IS_ISSUED;
        } else {
            int recent = due >= T - 90;
            uint32_t p_over = cl->badpay ? (recent ? 3500 : 2000) : (recent ? 900 : 350);
            uint32_t p_disp = cl->badpay ? 400 : 80;
            if (u < p_over) st = IS_OVERDUE;
            else if (u < p_over + p_disp) st = IS_DISPUTED;
            else {
                st = IS_PAID;
                int32_t lag = cl->dpay + rb(&r, -10, 20) + (cl->badpay ? rb(&r, 0, 60) : 0);
                if (lag < 1) lag = 1;
                paid = d + lag;
                if (paid > T - 1) paid = T - 1;
            }
        }
        const char *note = NULL;
        uint32_t nn = rn(&r, 1000);
        if (st == IS_DISPUTED && nn < 600) note = "Khách hàng chưa đồng ý số liệu đối soát";
        else if (st == IS_OVERDUE && nn < 300) note = "Đã nhắc thanh toán, lần 2";
        else if (nn < 20) note = INV_NOTE_ANY[nn % NELEM(INV_NOTE_ANY)];

        o_id(&o, &ID_INV, i); o_sep(&o);
        o_id(&o, &ID_CL, c); o_sep(&o);
        o_id(&o, &ID_HD, kidx); o_sep(&o);
        o_u(&o, amount); o_sep(&o);
        o_u(&o, tax); o_sep(&o);
        o_date(&o, d); o_sep(&o);
        o_date(&o, due); o_sep(&o);
        o_s(&o, INV_STATUS[st]); o_sep(&o);
        if (st == IS_PAID) o_date(&o, paid);
        o_sep(&o);
        if (note) o_q(&o, note);
        o_end(&o);

        if (st == IS_PAID) {
            o_id(&q, &ID_PAY, pay++); o_sep(&q);
            o_id(&q, &ID_INV, i); o_sep(&q);
            o_u(&q, amount + tax); o_sep(&q);
            o_date(&q, paid); o_sep(&q);
            o_s(&q, PAY_METHOD[rpick(&r, pm_w, (int)NELEM(pm_w))]);
            o_end(&q);
        }
    }
    o_close(&o);
    o_close(&q);
    free(thr); free(alias);
}

static void write_opportunities(const char *dir)
{
    Out o;
    o_open(&o, dir, "opportunities", "id,client,kind,value,probability,stage,owner,expected_close");
    uint16_t kw[NELEM(OPP_KIND_W)], sw[NELEM(OPP_STAGE_W)];
    memcpy(kw, OPP_KIND_W, sizeof kw);
    memcpy(sw, OPP_STAGE_W, sizeof sw);
    const int32_t T = g_today;
    for (uint64_t i = 0; i < 3 * nC; i++) {
        const Client *c = &C[i / 3];
        Rng r = rng_for(T_OPP, i);
        int kind = c->status == CS_PROSPECT ? 0 : rpick(&r, kw, (int)NELEM(kw));
        int stage = rpick(&r, sw, (int)NELEM(sw));
        if (c->status == CS_CHURNED && rn(&r, 100) < 60) stage = 5;
        if (c->status == CS_PROSPECT && stage == 4) stage = 2;
        uint64_t val = round_to((double)c->annual_budget * (0.1 + 0.4 * ru(&r)), 1000000);
        if (val < 10000000) val = 10000000;
        int32_t close = stage >= 4 ? T - rb(&r, 1, 365) : T + rb(&r, 7, 180);
        o_id(&o, &ID_OP, i); o_sep(&o);
        o_id(&o, &ID_CL, i / 3); o_sep(&o);
        o_s(&o, OPP_KIND[kind]); o_sep(&o);
        o_u(&o, val); o_sep(&o);
        o_d2(&o, OPP_PROB[stage]); o_sep(&o);
        o_s(&o, OPP_STAGE[stage]); o_sep(&o);
        o_id(&o, &ID_ST, c->owner); o_sep(&o);
        o_date(&o, close);
        o_end(&o);
    }
    o_close(&o);
}

static void write_activities(const char *dir)
{
    Out o;
    o_open(&o, dir, "activities", "id,client,kind,date,by,notes,next_step");
    uint16_t kw[NELEM(ACT_KIND_W)];
    memcpy(kw, ACT_KIND_W, sizeof kw);
    uint64_t id = 0;
    for (uint64_t i = 0; i < nC; i++) {
        const Client *c = &C[i];
        int32_t d[NACT];
        act_dates(i, d);
        Rng r = rng_for(T_ACT, i ^ 0x4000000000000000ULL);
        for (int k = 0; k < NACT; k++, id++) {
            uint32_t by = rn(&r, 100) < 80 ? c->owner : am_pool[rn(&r, n_am)];
            o_id(&o, &ID_AC, id); o_sep(&o);
            o_id(&o, &ID_CL, i); o_sep(&o);
            o_s(&o, ACT_KIND[rpick(&r, kw, (int)NELEM(kw))]); o_sep(&o);
            o_date(&o, d[k]); o_sep(&o);
            o_id(&o, &ID_ST, by); o_sep(&o);
            o_q(&o, ACT_NOTES[rn(&r, NELEM(ACT_NOTES))]); o_sep(&o);
            o_q(&o, ACT_NEXT[rn(&r, NELEM(ACT_NEXT))]);
            o_end(&o);
        }
    }
    o_close(&o);
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(f, "usage: kam-gen --scale S --seed N --out DIR [--today YYYY-MM-DD] [--spend-per-project N] [--lines 0]\n"
               "  S=1: 1,000 clients, 100,000 invoices over the 24 months before --today\n");
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char ch = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
            buf[i] = ch;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return -1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *scale_s = NULL, *seed_s = NULL, *out = NULL, *today_s = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        const char *eq = strchr(a, '=');
        char key[32];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) { usage(stdout); return 0; }
        if (strncmp(a, "--", 2) != 0) { usage(stderr); return 2; }
        if (eq) {
            size_t kl = (size_t)(eq - a);
            if (kl >= sizeof key) { usage(stderr); return 2; }
            memcpy(key, a, kl);
            key[kl] = '\0';
            v = eq + 1;
        } else {
            if (strlen(a) >= sizeof key || i + 1 >= argc) { usage(stderr); return 2; }
            strcpy(key, a);
            v = argv[++i];
        }
        if (strcmp(key, "--scale") == 0) scale_s = v;
        else if (strcmp(key, "--seed") == 0) seed_s = v;
        else if (strcmp(key, "--out") == 0) out = v;
        else if (strcmp(key, "--today") == 0) today_s = v;
        else if (strcmp(key, "--spend-per-project") == 0) {
            NSPEND = atoi(v);
            if (NSPEND < 1 || NSPEND > NSPEND_MAX) { fprintf(stderr, "kam-gen: --spend-per-project 1..%d\n", NSPEND_MAX); return 2; }
        }
        else if (strcmp(key, "--lines") == 0) opt_lines = strcmp(v, "0") != 0;
        else { fprintf(stderr, "kam-gen: unknown option %s\n", key); usage(stderr); return 2; }
    }
    if (!scale_s || !seed_s || !out) { usage(stderr); return 2; }

    char *end;
    g_scale = strtod(scale_s, &end);
    if (*end || !(g_scale > 0) || g_scale > 1e5) {
        fprintf(stderr, "kam-gen: bad --scale %s\n", scale_s);
        return 2;
    }
    errno = 0;
    g_seed = strtoull(seed_s, &end, 0);
    if (*end || errno || seed_s[0] == '-') {
        fprintf(stderr, "kam-gen: bad --seed %s\n", seed_s);
        return 2;
    }
    if (today_s) {
        int y, m, d, n = 0;
        if (sscanf(today_s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || today_s[n] || y < 1900 ||
            m < 1 || m > 12 || d < 1 || d > 31) {
            fprintf(stderr, "kam-gen: bad --today %s (want YYYY-MM-DD)\n", today_s);
            return 2;
        }
        g_today = days_from_civil(y, m, d);
        int y2, m2, d2;
        civil_from_days(g_today, &y2, &m2, &d2);
        if (y2 != y || m2 != m || d2 != d) {
            fprintf(stderr, "kam-gen: bad --today %s (no such date)\n", today_s);
            return 2;
        }
    } else {
        time_t now = time(NULL);
        struct tm tmv;
        if (!localtime_r(&now, &tmv)) { perror("localtime"); return 1; }
        g_today = days_from_civil(tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday);
    }

    nC = (uint64_t)(1000.0 * g_scale + 0.5);
    if (nC < 1) nC = 1;
    nInv = (uint64_t)(100000.0 * g_scale + 0.5);
    nStaff = nC / 25 < 20 ? 20 : nC / 25;
    if (nC >= (1ULL << 31) / 3 || nStaff >= (1ULL << 31)) {
        fprintf(stderr, "kam-gen: scale too large\n");
        return 2;
    }

    id_width(&ID_TM, 8);
    id_width(&ID_ST, nStaff);
    id_width(&ID_CL, nC);
    id_width(&ID_HD, 2 * nC);
    id_width(&ID_PRJ, 2 * nC);
    id_width(&ID_SP, 2 * nC * NSPEND);
    id_width(&ID_INV, nInv);
    id_width(&ID_PAY, nInv);
    id_width(&ID_OP, 3 * nC);
    id_width(&ID_AC, nC * NACT);

    if (mkdir_p(out) != 0) {
        fprintf(stderr, "kam-gen: cannot create %s: %s\n", out, strerror(errno));
        return 1;
    }

    date_cache_init();
    build_staff();
    build_clients();

    write_teams(out);
    write_staff(out);
    write_clients(out);
    write_contracts_projects(out);
    write_spend(out);
    write_invoices_payments(out);
    write_opportunities(out);
    write_activities(out);
    return 0;
}
